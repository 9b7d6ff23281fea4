import pg from 'pg';

export type SourceRow = Record<string, unknown>;

// Dates stay 'YYYY-MM-DD' (no local-midnight Date), timestamps become ISO-8601 UTC strings,
// int8 ids become numbers, numeric prices stay exact decimal strings.
const PARSERS: Record<number, (value: string) => unknown> = {
  20: (value) => Number(value),
  1082: (value) => value,
  1114: (value) => new Date(`${value.replace(' ', 'T')}Z`).toISOString(),
  1184: (value) => new Date(value.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00')).toISOString(),
  1700: (value) => value,
};

const quote = (identifier: string) => `"${identifier.replace(/"/g, '""')}"`;

/**
 * The Django installation's PostgreSQL database, read in one read-only, repeatable-read
 * transaction (one consistent snapshot, no writes possible). Columns are found by name: the live
 * schema differs from the repository's migrations, so a missing optional column reads as absent.
 */
export class DjangoSource {
  private constructor(
    private readonly client: pg.Client,
    private readonly tables: Map<string, Set<string>>,
  ) {}

  static async open(url: string): Promise<DjangoSource> {
    const client = new pg.Client({
      connectionString: url,
      types: {
        getTypeParser: ((oid: number, format?: string) =>
          PARSERS[oid] ?? pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
      },
    });
    await client.connect();
    try {
      await client.query('begin isolation level repeatable read read only');
      const columns = await client.query<{ table_name: string; column_name: string }>(
        `select table_name, column_name from information_schema.columns where table_schema = current_schema()`,
      );
      const tables = new Map<string, Set<string>>();
      for (const row of columns.rows) {
        const set = tables.get(row.table_name) ?? new Set<string>();
        set.add(row.column_name);
        tables.set(row.table_name, set);
      }
      return new DjangoSource(client, tables);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
  }

  has(table: string): boolean {
    return this.tables.has(table);
  }

  /**
   * Every row of `table` with the wanted columns that exist (absent ones are left out of the rows),
   * by id. A table that does not exist reads as empty; a missing `required` column is an error.
   */
  async rows(table: string, wanted: readonly string[], required: readonly string[] = ['id']): Promise<SourceRow[]> {
    const present = this.tables.get(table);
    if (!present) return [];
    const missing = required.filter((column) => !present.has(column));
    if (missing.length > 0) throw new Error(`the source table ${table} has no column ${missing.join(', ')}`);
    const columns = wanted.filter((column) => present.has(column));
    const result = await this.client.query<SourceRow>(
      `select ${columns.map(quote).join(', ')} from ${quote(table)} order by ${quote('id')}`,
    );
    return result.rows;
  }

  async close(): Promise<void> {
    await this.client.query('rollback').catch(() => undefined);
    await this.client.end();
  }
}
