import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDatabase, type DatabaseHandle } from '../../src/db/index.js';

// The SQLite connection the runtime gets: better-sqlite3 on Node 20, node:sqlite on Node 22.13 and
// later (CI runs this file on both). Rows must come back alike from either.
const runtime = process.getBuiltinModule?.('node:sqlite') ? 'node:sqlite' : 'better-sqlite3';

describe(`SQLite rows through ${runtime}`, () => {
  let dir: string;
  let handle: DatabaseHandle;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'castfolio-sqlite-'));
    handle = createDatabase({ kind: 'sqlite', file: path.join(dir, 'rows.db') });
  });
  afterEach(async () => {
    await handle.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('are ordinary objects holding every column by name, aliases and nulls included', async () => {
    await sql`create table people (id integer primary key, name text, height real, note text)`.execute(handle.db);
    await sql`insert into people (name, height, note) values ('Ada', 1.7, null), ('Bo', 1.8, 'tall')`.execute(handle.db);
    const { rows } = await sql<
      Record<string, unknown>
    >`select id, name, height, note, name || '!' as shout from people order by id`.execute(handle.db);
    expect(rows).toEqual([
      { id: 1, name: 'Ada', height: 1.7, note: null, shout: 'Ada!' },
      { id: 2, name: 'Bo', height: 1.8, note: 'tall', shout: 'Bo!' },
    ]);
    for (const row of rows) expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
    // The same statement again (it is prepared once and kept) gives the same rows.
    const again = await sql`select id, name, height, note, name || '!' as shout from people order by id`.execute(handle.db);
    expect(again.rows).toEqual(rows);
  });

  it('follow a table altered after a statement reading it was prepared', async () => {
    await sql`create table things (id integer primary key, label text)`.execute(handle.db);
    await sql`insert into things (label) values ('prop')`.execute(handle.db);
    const read = () => sql<Record<string, unknown>>`select * from things`.execute(handle.db);
    expect((await read()).rows).toEqual([{ id: 1, label: 'prop' }]);
    await sql`alter table things add column colour text default 'red'`.execute(handle.db);
    expect((await read()).rows).toEqual([{ id: 1, label: 'prop', colour: 'red' }]);
    await sql`alter table things drop column label`.execute(handle.db);
    expect((await read()).rows).toEqual([{ id: 1, colour: 'red' }]);
  });

  it('are streamed one at a time as the same objects', async () => {
    await sql`create table numbers (n integer)`.execute(handle.db);
    await sql`insert into numbers values (1), (2), (3)`.execute(handle.db);
    const seen: unknown[] = [];
    for await (const row of handle.db
      .selectFrom('numbers' as never)
      .select(sql<number>`n`.as('n'))
      .stream())
      seen.push(row);
    expect(seen).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
  });
});
