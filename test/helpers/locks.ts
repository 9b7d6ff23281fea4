import { spawn } from 'node:child_process';
import type { DatabaseConfig } from '../../src/config.js';

const SQLITE_HOLDER = `
// The runtime's own SQLite where it has one (better-sqlite3 12 aborts Node 24 at exit; see src/db/sqlite.ts).
const builtin = process.getBuiltinModule && process.getBuiltinModule('node:sqlite');
const db = builtin ? new builtin.DatabaseSync(process.argv[1]) : new (require('better-sqlite3'))(process.argv[1]);
db.exec('PRAGMA busy_timeout = 10000');
db.exec('PRAGMA foreign_keys = ON');
db.exec('BEGIN IMMEDIATE');
if (process.argv[3]) db.exec(process.argv[3]);
process.stdout.write('locked\\n');
setTimeout(() => { db.exec(process.argv[4] || 'ROLLBACK'); db.close(); }, Number(process.argv[2]));
`;

const POSTGRES_HOLDER = `
const { Client } = require('pg');
(async () => {
  const client = new Client({ connectionString: process.argv[1] });
  await client.connect();
  await client.query('BEGIN');
  await client.query(process.argv[3]);
  process.stdout.write('locked\\n');
  setTimeout(async () => { await client.query(process.argv[4] || 'ROLLBACK'); await client.end(); }, Number(process.argv[2]));
})();
`;

/**
 * Holds a real write lock from another process for `ms`: on SQLite the whole database
 * (BEGIN IMMEDIATE), on PostgreSQL the rows `lockSql` selects FOR UPDATE. Resolves once the lock
 * is held; the returned promise `released` settles when the holder has let go.
 */
export async function holdLock(database: DatabaseConfig, lockSql: string, ms: number): Promise<{ released: Promise<void> }> {
  return holdTransaction(database, database.kind === 'sqlite' ? '' : lockSql, ms, 'ROLLBACK');
}

/**
 * Runs `statement` in a write transaction of another process (on SQLite after BEGIN IMMEDIATE,
 * foreign keys on) and ends it after `ms` with `end` (COMMIT or ROLLBACK): a change another
 * client made while a request was under way. Resolves once the statement has run.
 */
export async function holdTransaction(
  database: DatabaseConfig,
  statement: string,
  ms: number,
  end: 'COMMIT' | 'ROLLBACK',
): Promise<{ released: Promise<void> }> {
  const [script, args] =
    database.kind === 'sqlite'
      ? [SQLITE_HOLDER, [database.file, String(ms), statement, end]]
      : [POSTGRES_HOLDER, [database.url, String(ms), statement, end]];
  const child = spawn(process.execPath, ['-e', script, ...args], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
  const released = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('locked')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`lock holder exited early (${code})`)));
  });
  return { released };
}
