import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql, type SqliteDatabase } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDatabase, type DatabaseHandle } from '../../src/db/index.js';
import { markParameters, openSqlite } from '../../src/db/sqlite.js';

// The SQLite connection the runtime gets: better-sqlite3 on Node 20, node:sqlite on Node 22.13 and
// later (CI runs this file on both). Rows must come back alike from either.
const runtime = process.getBuiltinModule?.('node:sqlite') ? 'node:sqlite' : 'better-sqlite3';

describe('parameters as node:sqlite is given them', () => {
  it('are written +? outside quoted strings, quoted names and comments', () => {
    expect(markParameters(`select ?, 'a?''?', "b?", [c?], \`d?\` -- e?\n from t where x = ? /* f? */ limit ?`)).toBe(
      `select +?, 'a?''?', "b?", [c?], \`d?\` -- e?\n from t where x = +? /* f? */ limit +?`,
    );
    expect(markParameters("select 'unterminated ?")).toBe("select 'unterminated ?");
  });
});

describe(`SQLite through ${runtime}`, () => {
  let dir: string;
  let handle: DatabaseHandle;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'castfolio-sqlite-'));
    handle = createDatabase({ kind: 'sqlite', file: path.join(dir, 'castfolio.db') });
  });
  afterEach(async () => {
    await handle.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives rows as ordinary objects holding every column by name, aliases and nulls included', async () => {
    await sql`create table performers (id integer primary key, name text, height real, note text)`.execute(handle.db);
    await sql`insert into performers (name, height, note) values ('Ada', 1.7, null), ('Bo', 1.8, 'tall')`.execute(handle.db);
    const { rows } = await sql<
      Record<string, unknown>
    >`select id, name, height, note, name || '!' as shout from performers order by id`.execute(handle.db);
    expect(rows).toEqual([
      { id: 1, name: 'Ada', height: 1.7, note: null, shout: 'Ada!' },
      { id: 2, name: 'Bo', height: 1.8, note: 'tall', shout: 'Bo!' },
    ]);
    for (const row of rows) expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
    // The same statement again (it is prepared once and kept) gives the same rows.
    const again = await sql`select id, name, height, note, name || '!' as shout from performers order by id`.execute(handle.db);
    expect(again.rows).toEqual(rows);
  });

  it('gives rows that follow a table altered after a statement reading it was prepared', async () => {
    await sql`create table things (id integer primary key, label text)`.execute(handle.db);
    await sql`insert into things (label) values ('prop')`.execute(handle.db);
    const read = () => sql<Record<string, unknown>>`select * from things`.execute(handle.db);
    expect((await read()).rows).toEqual([{ id: 1, label: 'prop' }]);
    await sql`alter table things add column colour text default 'red'`.execute(handle.db);
    expect((await read()).rows).toEqual([{ id: 1, label: 'prop', colour: 'red' }]);
    await sql`alter table things drop column label`.execute(handle.db);
    expect((await read()).rows).toEqual([{ id: 1, colour: 'red' }]);
  });

  it('streams rows one at a time as the same objects', async () => {
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

  /** Two tables a join reads: people, and the pictures their photo names. */
  const peopleAndPictures = async () => {
    await sql`create table people (id integer primary key, name text, tag text, photo blob)`.execute(handle.db);
    await sql`create table pictures (name text primary key, width integer)`.execute(handle.db);
  };

  it('binds every parameter where it stands: values, IN, LIKE … ESCAPE, LIMIT and OFFSET, text holding a question mark', async () => {
    await peopleAndPictures();
    const photo = Buffer.from([0, 1, 2, 255]);
    for (const [name, tag] of [
      ['Ada?', 'a_1'],
      ['Bo', 'b%2'],
      ['Cy', 'c'],
    ])
      await sql`insert into people (name, tag, photo) values (${name}, ${tag}, ${photo})`.execute(handle.db);
    const names = (rows: { name: string }[]) => rows.map((row) => row.name);
    const read = (query: ReturnType<typeof sql<{ name: string }>>) => query.execute(handle.db).then((result) => names(result.rows));
    expect(await read(sql`select name from people where id in (${1}, ${3}) order by id`)).toEqual(['Ada?', 'Cy']);
    expect(await read(sql`select name from people where tag like ${'b!%%'} escape ${'!'}`)).toEqual(['Bo']);
    expect(await read(sql`select name from people where name = ${'Ada?'} and '?' = '?'`)).toEqual(['Ada?']);
    expect(await read(sql`select name from people order by id limit ${1} offset ${1}`)).toEqual(['Bo']);
    // A blob comes back as the same bytes, and a number compared with a text column as before.
    const { rows } = await sql<{ photo: Uint8Array }>`select photo from people where id = ${'2'}`.execute(handle.db);
    expect(Buffer.from(rows[0]!.photo)).toEqual(photo);
  });

  // SQLite 3.54 (Node 24's node:sqlite) compiled a statement again on every run when it read two
  // tables and compared a column with a parameter: ten to fifteen times the work of the same
  // statement with the value written in. CPU time of the two through the connection, in this run.
  it('runs a join with a parameter at the cost of the same join with the value written in', async () => {
    await peopleAndPictures();
    await sql`insert into people (name) values ('Ada')`.execute(handle.db);
    const connection = openSqlite(path.join(dir, 'castfolio.db'), { busyTimeoutMs: 1000 }) as SqliteDatabase;
    try {
      // The shape of the profile read: a row, what it links to, and counts of what it owns.
      const counts = ['a', 'b', 'c', 'd', 'e', 'f']
        .map((tag) => `(select count(*) from people q where q.name = p.name and q.tag = '${tag}') as ${tag}`)
        .join(', ');
      const joined = `select p.name, pic.width, ${counts} from people p left join pictures pic on pic.name = p.photo where p.id = `;
      const cpu = (text: string, parameters: unknown[]) => {
        const statement = connection.prepare(text) as unknown as { all(parameters: unknown[]): unknown[] };
        expect(statement.all(parameters)).toEqual([{ name: 'Ada', width: null, a: 0, b: 0, c: 0, d: 0, e: 0, f: 0 }]);
        for (let i = 0; i < 500; i++) statement.all(parameters);
        const started = process.cpuUsage();
        for (let i = 0; i < 10_000; i++) statement.all(parameters);
        const used = process.cpuUsage(started);
        return used.user + used.system;
      };
      const bound = cpu(`${joined}?`, [1]);
      const written = cpu(`${joined}1`, []);
      expect(bound / written).toBeLessThan(3);
    } finally {
      connection.close();
    }
  });
});
