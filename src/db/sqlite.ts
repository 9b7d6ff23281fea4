import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import type { SqliteDialectConfig } from 'kysely';
import { BoundedMap } from '../bounded-map.js';

/** What Kysely's SQLite dialect needs of a connection. */
type KyselySqlite = SqliteDialectConfig['database'];
type KyselyStatement = ReturnType<Awaited<KyselySqlite> extends { prepare(sql: string): infer S } ? () => S : never>;

const STATEMENT_CACHE_SIZE = 500;

// Extended result codes of node:sqlite errors, named as better-sqlite3 names them, so one check
// (unique violation, busy database) holds for both drivers.
const SQLITE_CODES: Record<number, string> = {
  5: 'SQLITE_BUSY',
  261: 'SQLITE_BUSY_RECOVERY',
  517: 'SQLITE_BUSY_SNAPSHOT',
  787: 'SQLITE_CONSTRAINT_FOREIGNKEY',
  1555: 'SQLITE_CONSTRAINT_PRIMARYKEY',
  2067: 'SQLITE_CONSTRAINT_UNIQUE',
};

interface NodeSqliteStatement {
  all(...parameters: unknown[]): Record<string, unknown>[];
  run(...parameters: unknown[]): { changes: number | bigint; lastInsertRowid: number | bigint };
  iterate(...parameters: unknown[]): IterableIterator<Record<string, unknown>>;
  columns(): { name: string }[];
  /** Rows as arrays of values (Node 22.16, 24.0 and later). */
  setReturnArrays?(enabled: boolean): void;
}
interface NodeSqliteDatabase {
  exec(sql: string): void;
  prepare(sql: string): NodeSqliteStatement;
  close(): void;
}
type NodeSqliteModule = { DatabaseSync: new (file: string, options?: { timeout?: number }) => NodeSqliteDatabase };

function withSqliteCode<T>(run: () => T): T {
  try {
    return run();
  } catch (error) {
    const errcode = (error as { errcode?: unknown }).errcode;
    if (typeof errcode === 'number' && SQLITE_CODES[errcode]) (error as { code: string }).code = SQLITE_CODES[errcode];
    throw error;
  }
}

/**
 * Rows as plain objects. node:sqlite's own rows have no prototype, and copying one (`{ ...row }`)
 * cost 17 µs for a 40-column row on Node 24 — more than the query. Read as arrays, a row is built
 * from the statement's column names in 7–10 µs (better-sqlite3 on Node 20: 18 µs). The names are
 * read again whenever the number of values changes (the table was altered since the statement was
 * prepared: SQLite prepares it again by itself).
 */
function rowsOf(statement: NodeSqliteStatement): (values: unknown) => Record<string, unknown> {
  if (typeof statement.setReturnArrays !== 'function') return (row) => ({ ...(row as Record<string, unknown>) });
  statement.setReturnArrays(true);
  let names = statement.columns().map((column) => column.name);
  return (row) => {
    const values = row as unknown[];
    if (values.length !== names.length) names = statement.columns().map((column) => column.name);
    const object: Record<string, unknown> = {};
    for (let i = 0; i < values.length; i++) object[names[i]!] = values[i];
    return object;
  };
}

/**
 * node:sqlite behind the interface Kysely expects of better-sqlite3: positional parameters as one
 * array, `reader` for statements that return rows, rows as plain objects.
 */
function nodeSqliteStatement(statement: NodeSqliteStatement): KyselyStatement {
  const reader = statement.columns().length > 0;
  const row = reader ? rowsOf(statement) : (values: unknown) => values as Record<string, unknown>;
  return {
    reader,
    all: (parameters: readonly unknown[]) => withSqliteCode(() => statement.all(...parameters).map(row)),
    run: (parameters: readonly unknown[]) => withSqliteCode(() => statement.run(...parameters)),
    iterate: function* (parameters: readonly unknown[]) {
      for (const values of statement.iterate(...parameters)) yield row(values);
    },
  } as unknown as KyselyStatement;
}

export interface SqliteOptions {
  busyTimeoutMs: number;
}

const PRAGMAS = (busyTimeoutMs: number) => [
  'journal_mode = WAL',
  'foreign_keys = ON',
  `busy_timeout = ${Math.round(busyTimeoutMs)}`,
  'synchronous = NORMAL',
];

/**
 * Kysely prepares every query anew; preparing is the largest single cost of a small SQLite query.
 * The queries are a fixed set of shapes, so prepared statements are kept by their SQL text.
 */
function cached<S>(prepare: (sql: string) => S): (sql: string) => S {
  const cache = new BoundedMap<string, S>(STATEMENT_CACHE_SIZE);
  return (sql) => {
    let statement = cache.get(sql);
    if (!statement) {
      statement = prepare(sql);
      cache.set(sql, statement);
    }
    return statement;
  };
}

/** Where a quoted string, a quoted name or a comment that starts with `open` ends. */
const CLOSERS: Record<string, string> = { "'": "'", '"': '"', '`': '`', '[': ']', '--': '\n', '/*': '*/' };

/**
 * The statement with each parameter written `+?` instead of `?`. The SQLite of Node 24's
 * node:sqlite (3.54.1 in Node 24.22) compiles a statement again every time a parameter is bound
 * when it reads more than one table and compares a column with a parameter: the profile read took
 * 86 µs a run instead of 6, nearly all of it parsing and planning (`sqlite3Reprepare` under
 * `sqlite3_step`); better-sqlite3's SQLite 3.53 does not. Unary `+` changes neither the value nor
 * its affinity (a parameter has none either way), nor the plan (`EXPLAIN QUERY PLAN` reads the
 * same), but keeps the planner from tying the compiled statement to the value bound. Parameters
 * inside quoted strings, quoted names and comments are text and stay as they are.
 */
export function markParameters(sql: string): string {
  let out = '';
  for (let i = 0; i < sql.length;) {
    const open = sql.startsWith('--', i) || sql.startsWith('/*', i) ? sql.slice(i, i + 2) : sql[i]!;
    const close = CLOSERS[open];
    if (close) {
      const end = sql.indexOf(close, i + open.length);
      const next = end < 0 ? sql.length : end + close.length;
      out += sql.slice(i, next);
      i = next;
    } else {
      out += open === '?' ? '+?' : open;
      i += 1;
    }
  }
  return out;
}

/**
 * A SQLite connection for Kysely. Node's built-in node:sqlite where the runtime has it (Node 22.13
 * and later): better-sqlite3 12 aborts Node 24 processes when a statement object is collected
 * (its ObjectWrap destructor asserts on a missing environment). better-sqlite3 on Node 20, which
 * has no node:sqlite. Both open the same file format with the same pragmas.
 */
export function openSqlite(file: string, options: SqliteOptions): KyselySqlite {
  const builtin = process.getBuiltinModule?.('node:sqlite') as NodeSqliteModule | undefined;
  if (builtin) {
    const database = new builtin.DatabaseSync(file, { timeout: options.busyTimeoutMs });
    for (const pragma of PRAGMAS(options.busyTimeoutMs)) database.exec(`PRAGMA ${pragma}`);
    return {
      close: () => database.close(),
      prepare: cached((sql) => withSqliteCode(() => nodeSqliteStatement(database.prepare(markParameters(sql))))),
    };
  }
  const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
  const database = new Database(file);
  for (const pragma of PRAGMAS(options.busyTimeoutMs)) database.pragma(pragma);
  return { close: () => database.close(), prepare: cached((sql) => database.prepare(sql)) };
}
