import { Migrator, type Kysely, type MigrationResultSet } from 'kysely';
import * as m0001 from './migrations/0001_initial.js';
import * as m0002 from './migrations/0002_pending_deletions.js';
import * as m0003 from './migrations/0003_items.js';
import * as m0004 from './migrations/0004_account_lifecycle.js';
import * as m0005 from './migrations/0005_media_reference_indexes.js';
import * as m0006 from './migrations/0006_session_generation.js';
import * as m0007 from './migrations/0007_social_media_links.js';
import * as m0008 from './migrations/0008_legacy_imports.js';
import * as m0009 from './migrations/0009_gallery_media.js';
import * as m0010 from './migrations/0010_pictures.js';
import * as m0011 from './migrations/0011_picture_analysis.js';

/** Imported, not read from disk, so the same list runs from src/ under vitest and from dist/. */
const migrations = {
  '0001_initial': m0001,
  '0002_pending_deletions': m0002,
  '0003_items': m0003,
  '0004_account_lifecycle': m0004,
  '0005_media_reference_indexes': m0005,
  '0006_session_generation': m0006,
  '0007_social_media_links': m0007,
  '0008_legacy_imports': m0008,
  '0009_gallery_media': m0009,
  '0010_pictures': m0010,
  '0011_picture_analysis': m0011,
};

export function createMigrator(db: Kysely<any>): Migrator {
  return new Migrator({ db, provider: { getMigrations: async () => migrations } });
}

function unwrap(result: MigrationResultSet): MigrationResultSet {
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error');
    const error = new Error(
      `Migration ${failed?.migrationName ?? '(unknown)'} failed: ${String((result.error as Error).message ?? result.error)}`,
    );
    (error as Error & { cause: unknown }).cause = result.error;
    throw error;
  }
  return result;
}

export async function migrateToLatest(db: Kysely<any>): Promise<MigrationResultSet> {
  return unwrap(await createMigrator(db).migrateToLatest());
}

export async function migrateDown(db: Kysely<any>): Promise<MigrationResultSet> {
  return unwrap(await createMigrator(db).migrateDown());
}
