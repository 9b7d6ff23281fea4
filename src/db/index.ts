import { mkdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { BoundedMap } from '../bounded-map.js';
import path from 'node:path';
import {
  CompiledQuery,
  Kysely,
  OperationNodeTransformer,
  PostgresDialect,
  SqliteDialect,
  type Driver,
  type KyselyPlugin,
  type LogEvent,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type PrimitiveValueListNode,
  type QueryResult,
  type RootOperationNode,
  type UnknownRow,
  type ValueNode,
} from 'kysely';
import { createRequire } from 'node:module';
import type pg from 'pg';
import type { DatabaseConfig } from '../config.js';
import { openSqlite } from './sqlite.js';
import type { Database } from './types.js';

export type Dialect = 'sqlite' | 'postgres';

export interface DatabaseHandle {
  db: Kysely<Database>;
  dialect: Dialect;
  destroy(): Promise<void>;
}

interface ErrorLogger {
  error(obj: unknown, msg: string): void;
}

/** SQLite drivers cannot bind JS booleans; store them as 1/0 like SQLite itself does. */
class BooleanToIntegerTransformer extends OperationNodeTransformer {
  protected override transformValue(node: ValueNode): ValueNode {
    const transformed = super.transformValue(node);
    return typeof transformed.value === 'boolean' ? { ...transformed, value: transformed.value ? 1 : 0 } : transformed;
  }

  protected override transformPrimitiveValueList(node: PrimitiveValueListNode): PrimitiveValueListNode {
    const transformed = super.transformPrimitiveValueList(node);
    return {
      ...transformed,
      values: transformed.values.map((v) => (typeof v === 'boolean' ? (v ? 1 : 0) : v)),
    };
  }
}

/**
 * Transactions here read, then write (lock row → update → queue the old file). A deferred SQLite
 * transaction that reads and then needs the write lock while another process writes fails at
 * once with SQLITE_BUSY (waiting could deadlock); BEGIN IMMEDIATE takes the write lock up front,
 * so the busy timeout applies and concurrent writers simply queue.
 */
class ImmediateSqliteDialect extends SqliteDialect {
  override createDriver(): Driver {
    const driver = super.createDriver();
    driver.beginTransaction = async (connection) => {
      await connection.executeQuery(CompiledQuery.raw('begin immediate'));
    };
    return driver;
  }
}

class SqliteBooleanPlugin implements KyselyPlugin {
  readonly #transformer = new BooleanToIntegerTransformer();

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return this.#transformer.transformNode(args.node);
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}

// OIDs: int8, date, timestamp, timestamptz. Dates stay 'YYYY-MM-DD' strings (no local-midnight
// Date objects), timestamps become ISO-8601 UTC strings like SQLite's, counts become numbers.
const PG_PARSERS: Record<number, (value: string) => unknown> = {
  20: (value) => Number(value),
  1082: (value) => value,
  1114: (value) => new Date(`${value.replace(' ', 'T')}Z`).toISOString(),
  1184: (value) => new Date(value.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00')).toISOString(),
};

export interface DatabaseOptions {
  /** Called for every executed query (tests count them; metrics may time them). */
  onQuery?: (sql: string, durationMs: number) => void;
}

export function createDatabase(config: DatabaseConfig, logger?: ErrorLogger, options: DatabaseOptions = {}): DatabaseHandle {
  const log = options.onQuery ? (event: LogEvent) => options.onQuery?.(event.query.sql, event.queryDurationMillis) : undefined;
  if (config.kind === 'sqlite') {
    mkdirSync(path.dirname(path.resolve(config.file)), { recursive: true });
    const db = new Kysely<Database>({
      dialect: new ImmediateSqliteDialect({ database: openSqlite(config.file, { busyTimeoutMs: config.busyTimeoutMs ?? 5000 }) }),
      plugins: [new SqliteBooleanPlugin()],
      ...(log ? { log } : {}),
    });
    return { db, dialect: 'sqlite', destroy: () => db.destroy() };
  }

  const timeout = config.statementTimeoutMs ?? 10_000;
  // The PostgreSQL driver is loaded only when PostgreSQL is configured (a SQLite worker never holds it).
  const driver = createRequire(import.meta.url)('pg') as typeof pg;
  const pool = new driver.Pool({
    connectionString: config.url,
    max: config.poolSize ?? 10,
    // Nothing waits forever on the database: a lock held too long, a network that swallows
    // packets or a server that stops answering all end in an error (503) instead of a hang.
    connectionTimeoutMillis: Math.min(timeout, 5000),
    statement_timeout: timeout,
    lock_timeout: timeout,
    query_timeout: timeout + 1000,
    idle_in_transaction_session_timeout: timeout * 3,
    types: {
      getTypeParser: ((oid: number, format?: string) =>
        PG_PARSERS[oid] ?? driver.types.getTypeParser(oid, format as 'text')) as typeof driver.types.getTypeParser,
    },
  });
  // A client losing its connection emits 'error': on the pool while idle, on the client itself
  // while checked out (mid-query; the query is rejected too). Unhandled, either kills the process.
  pool.on('error', (error) => logger?.error({ err: error }, 'PostgreSQL pool client error'));
  pool.on('connect', (client) => {
    client.on('error', (error) => logger?.error({ err: error }, 'PostgreSQL connection lost'));
  });
  if (config.preparedStatements !== false) pool.on('connect', useNamedStatements);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), ...(log ? { log } : {}) });
  return { db, dialect: 'postgres', destroy: () => db.destroy() };
}

const PREPARABLE = /^\s*(select|insert|update|delete|with)\b/i;
const statementNames = new BoundedMap<string, string>(5000);

function statementName(text: string): string {
  let name = statementNames.get(text);
  if (!name) {
    name = `cf_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
    statementNames.set(text, name);
  }
  return name;
}

/**
 * Kysely sends every query unnamed, so PostgreSQL parses and plans it on every call; for the
 * profile read (a join and eight counts) planning cost more than running it. Named statements
 * are parsed once per connection and then executed with a cached plan. Query shapes are a
 * small fixed set, so the per-connection statement count stays bounded. Turn off with
 * DB_PREPARED_STATEMENTS=false behind a transaction-mode pooler (PgBouncer).
 */
function useNamedStatements(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (text: unknown, values?: unknown, callback?: unknown) => {
    if (typeof text === 'string' && Array.isArray(values) && PREPARABLE.test(text)) {
      return query({ name: statementName(text), text, values }, callback);
    }
    return callback === undefined ? query(text, values) : query(text, values, callback);
  };
}

export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
