import { PostgresAdapter, type ColumnDataType, type ColumnDefinitionBuilder, type Kysely } from 'kysely';

/** Column types that behave the same on both dialects (see db/types.ts). */
export function columnTypes(db: Kysely<any>) {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  return {
    postgres,
    timestamp: (postgres ? 'timestamptz' : 'text') as ColumnDataType,
    date: (postgres ? 'date' : 'text') as ColumnDataType,
    decimal: (postgres ? 'numeric(12, 2)' : 'text') as ColumnDataType,
    identity: (col: ColumnDefinitionBuilder) =>
      postgres ? col.primaryKey().generatedByDefaultAsIdentity() : col.primaryKey().autoIncrement(),
  };
}
