import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type DatabaseHandle } from '../../src/db/index.js';
import { PreparedQuery, preparedPerDialect } from '../../src/db/prepared.js';
import { DATABASES, type TestDatabase } from '../helpers/databases.js';

/** Queries compiled once and run with new parameters, on a database and inside its transactions. */
for (const target of DATABASES) {
  describe.skipIf(target.skipReason)(`prepared queries on ${target.label}`, () => {
    let testDb: TestDatabase;
    let handle: DatabaseHandle;
    beforeAll(async () => {
      testDb = await target.create();
      handle = createDatabase(testDb.config);
      await sql`create table performers (id integer primary key, name text not null, note text)`.execute(handle.db);
    });
    afterAll(async () => {
      await handle?.destroy();
      await testDb?.drop();
    });

    const insert = preparedPerDialect(
      (db, row: { id: number; name: string; note: string | null }) => db.insertInto('performers').values(row),
      ['id', 'name', 'note'],
    );
    const byName = new PreparedQuery(
      (db, args: { name: string }) => db.selectFrom('performers').select(['id', 'note']).where('name', '=', args.name),
      ['name'],
    );
    const names = async () =>
      (await sql<{ name: string }>`select name from performers order by id`.execute(handle.db)).rows.map((r) => r.name);

    it('run each time with that call’s parameters, a null among them', async () => {
      await insert[handle.dialect].run(handle.db, { id: 1, name: 'Ada', note: null });
      await insert[handle.dialect].run(handle.db, { id: 2, name: 'Bo', note: 'tall' });
      expect(await byName.run(handle.db, { name: 'Bo' })).toEqual([{ id: 2, note: 'tall' }]);
      expect(await byName.run(handle.db, { name: 'Ada' })).toEqual([{ id: 1, note: null }]);
      expect(await byName.run(handle.db, { name: "x' or '1'='1" })).toEqual([]);
    });

    it('run inside the transaction they are given: its rollback takes their rows too', async () => {
      const failed = handle.db.transaction().execute(async (trx) => {
        await insert[handle.dialect].run(trx, { id: 3, name: 'Cy', note: null });
        expect(await byName.run(trx, { name: 'Cy' })).toEqual([{ id: 3, note: null }]);
        throw new Error('abandon');
      });
      await expect(failed).rejects.toThrow('abandon');
      expect(await names()).toEqual(['Ada', 'Bo']);
      await handle.db.transaction().execute((trx) => insert[handle.dialect].run(trx, { id: 4, name: 'Di', note: null }));
      expect(await names()).toEqual(['Ada', 'Bo', 'Di']);
    });

    it('refuse a shape that does not use every argument it names', async () => {
      const unused = new PreparedQuery(
        (db, _args: { name: string; id: number }) => db.selectFrom('performers').select('id'),
        ['name', 'id'],
      );
      await expect(unused.run(handle.db, { name: 'Ada', id: 1 })).rejects.toThrow('prepared query does not use its argument "name"');
    });
  });
}
