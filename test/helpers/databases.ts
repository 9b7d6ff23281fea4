import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { DatabaseConfig } from '../../src/config.js';

export interface TestDatabase {
  config: DatabaseConfig;
  drop(): Promise<void>;
}

export interface DatabaseTarget {
  name: 'sqlite' | 'postgres';
  /** Why this target cannot run here; undefined when it can. */
  skipReason: string | undefined;
  label: string;
  create(): Promise<TestDatabase>;
}

const pgUrl = process.env.TEST_DATABASE_URL;

async function createSqlite(): Promise<TestDatabase> {
  const dir = mkdtempSync(path.join(tmpdir(), 'castfolio-test-'));
  return {
    config: { kind: 'sqlite', file: path.join(dir, 'castfolio.db') },
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A new PostgreSQL database with a random name on the server of `adminUrl`, and how to drop it. */
export async function createPostgresDatabase(adminUrl: string, prefix = 'castfolio_test'): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** A database of its own for each test file, dropped after. */
async function createPostgres(): Promise<TestDatabase> {
  const { url, drop } = await createPostgresDatabase(pgUrl as string);
  return { config: { kind: 'postgres', url }, drop };
}

export const DATABASES: DatabaseTarget[] = [
  { name: 'sqlite', skipReason: undefined, label: 'sqlite', create: createSqlite },
  {
    name: 'postgres',
    skipReason: pgUrl ? undefined : 'TEST_DATABASE_URL is not set',
    label: pgUrl ? 'postgres' : 'postgres (skipped: TEST_DATABASE_URL is not set)',
    create: createPostgres,
  },
];
