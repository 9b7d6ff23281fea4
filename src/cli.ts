#!/usr/bin/env node
import cliProgress from 'cli-progress';
import type { BackfillReport, PictureBackfill } from './modules/media/backfill.js';
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { ConfigError, loadConfig, parseDuration, type Config } from './config.js';
import { createDatabase, type DatabaseHandle } from './db/index.js';
import { createMigrator, migrateDown, migrateToLatest } from './db/migrate.js';
import { ApiError } from './errors.js';
import type { UserRecord, UserRepository } from './modules/accounts/repository.js';
import type { AccountService } from './modules/accounts/service.js';
import type { MediaSweep } from './modules/media/sweep.js';
import { normaliseEmail } from './auth/email.js';
import { PLANS } from './modules/subscriptions/plans.js';
import { importDjango } from './cli-import.js';
import { createServices, openResources } from './services.js';

const USAGE = `Usage: castfolio <command> (npm run cli -- <command>)

  migrate [up|down|status]             apply pending migrations (up, the default), undo the last one, or list them
  user create --email E --role talent|background --first-name F --last-name L
              --date-of-birth YYYY-MM-DD [--password P | --password -] [--country C] [--gender G]
                                        create an account and its profile (--password - reads it from stdin)
  user verify-email <email>             mark the user's email as verified
  user delete <email>                   delete the user, their profile, items, subscriptions and every stored file
  subscription grant <email> <plan> [--months N]
                                        start a subscription (plans: ${Object.keys(PLANS).join(', ')}; default 12 months)
  subscription revoke <email>           cancel the user's active subscription
  media sweep [--dry-run] [--grace 1h]  retry pending deletions, delete unreferenced objects older than
                                        the grace period (default MEDIA_SWEEP_GRACE, 1h), report rows
                                        pointing at missing objects
  media sweep --legacy [--delete]       list objects adopted from Django that no row references (Django
                                        kept replaced pictures); delete them only with --delete
  media backfill [--dry-run] [--concurrency N]
                                        make the responsive variants, placeholder and size of pictures
                                        stored before they existed (or adopted from Django); resumable,
                                        safe while the server runs (default concurrency 1)
  media remind-headshots                queue the "time for a new headshot" mail for headshots over six
                                        months old (the server does this every 6 hours; once per headshot)
  import django --from <postgres url> [--dry-run] [--legacy-media-dir DIR]
                                        import accounts, profiles, social links, items and subscriptions
                                        from a gan7club Django database (re-runnable; docs/cutover.md)
`;

export class UsageError extends Error {}

/** A command failed on a database that lacks migrations (a fresh file or database nothing has migrated yet). */
export class NotMigratedError extends Error {
  constructor(pending: string[], cause: unknown) {
    super(
      `the database has ${pending.length} migration(s) not applied (${pending[0]}${pending.length > 1 ? ', …' : ''}): ` +
        'run "castfolio migrate" (npm run cli -- migrate), or start the server once, which applies them',
      { cause },
    );
    this.name = 'NotMigratedError';
  }
}

interface Output {
  out: (line: string) => void;
  err: (line: string) => void;
}

function describeApiError(error: ApiError): string {
  return Object.entries(error.body)
    .map(([field, messages]) => `${field}: ${Array.isArray(messages) ? messages.join(' ') : String(messages)}`)
    .join('\n');
}

async function findUser(users: UserRepository, email: string | undefined): Promise<UserRecord> {
  if (!email) throw new UsageError('an email address is required');
  const user = await users.findByEmail(normaliseEmail(email));
  if (!user) throw new ApiError(404, { detail: `No user with email ${normaliseEmail(email)}.` });
  return user;
}

async function migrateCommand(handle: DatabaseHandle, action: string | undefined, io: Output): Promise<void> {
  if (action === undefined || action === 'up' || action === 'latest') {
    const result = await migrateToLatest(handle.db);
    const applied = result.results?.filter((r) => r.status === 'Success') ?? [];
    io.out(applied.length === 0 ? 'Database is up to date.' : applied.map((r) => `applied ${r.migrationName}`).join('\n'));
  } else if (action === 'down') {
    const result = await migrateDown(handle.db);
    const undone = result.results?.filter((r) => r.status === 'Success') ?? [];
    io.out(undone.length === 0 ? 'Nothing to undo.' : undone.map((r) => `reverted ${r.migrationName}`).join('\n'));
  } else if (action === 'status') {
    for (const migration of await createMigrator(handle.db).getMigrations()) {
      io.out(`${migration.executedAt ? 'applied ' : 'pending '} ${migration.name}`);
    }
  } else {
    throw new UsageError(`unknown migrate action "${action}"`);
  }
}

const cliLog = (config: Config) => pino({ level: config.logLevel === 'silent' ? 'silent' : 'warn' }, pino.destination(2));

async function backfillPictures(
  backfill: PictureBackfill,
  options: { dryRun: boolean; concurrency: number },
  io: Output,
  tty: boolean,
): Promise<BackfillReport> {
  const bar = tty
    ? new cliProgress.SingleBar(
        { format: ' pictures |{bar}| {value}/{total}', hideCursor: true, stream: process.stderr },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  let shownTenth = -1;
  const report = await backfill.run({
    ...options,
    progress: (done, total) => {
      if (bar) {
        if (done === 1) bar.start(total, 0);
        bar.update(done);
        return;
      }
      const tenth = Math.floor((done / total) * 10);
      if (tenth > shownTenth || done === total) io.err(`pictures: ${done}/${total}`);
      shownTenth = tenth;
    },
  });
  bar?.stop();
  for (const failure of report.failed) io.out(`failed ${failure.name}: ${failure.reason}`);
  io.out(
    report.dryRun
      ? `dry run: ${report.found} picture(s) without variants or analysis would be backfilled`
      : `backfilled ${report.created} of ${report.found} picture(s)` +
          `${report.superseded > 0 ? `, ${report.superseded} replaced meanwhile (their new variants removed again)` : ''}` +
          `, ${report.failed.length} failed`,
  );
  return report;
}

async function sweepCommand(sweep: MediaSweep, options: { dryRun: boolean; graceSeconds: number }, io: Output): Promise<void> {
  const report = await sweep.sweep(options);
  const verb = report.dryRun ? 'would delete' : 'deleted';
  for (const name of report.orphansDeleted) io.out(`${verb} orphan ${name}`);
  for (const name of report.dangling) io.out(`dangling reference ${name} (no such object)`);
  io.out(
    `${report.dryRun ? 'dry run: ' : ''}retried ${report.retried} pending deletion(s) (${report.retriedFailed} still failing), ` +
      `${verb} ${report.orphansDeleted.length} orphan(s), kept ${report.orphansKept} younger than the grace period, ` +
      `${report.dangling.length} dangling reference(s)` +
      (report.staleRecords > 0
        ? `, ${report.dryRun ? 'would drop' : 'dropped'} ${report.staleRecords} unreferenced picture record(s)`
        : ''),
  );
}

export async function runCli(argv: string[], config: Config, io: Output, handle?: DatabaseHandle): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      email: { type: 'string' },
      password: { type: 'string' },
      role: { type: 'string' },
      'first-name': { type: 'string' },
      'last-name': { type: 'string' },
      'date-of-birth': { type: 'string' },
      country: { type: 'string' },
      gender: { type: 'string' },
      months: { type: 'string' },
      'dry-run': { type: 'boolean' },
      grace: { type: 'string' },
      legacy: { type: 'boolean' },
      delete: { type: 'boolean' },
      from: { type: 'string' },
      'legacy-media-dir': { type: 'string' },
      concurrency: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, sub, ...rest] = positionals;
  if (values.help || command === undefined || command === 'help') {
    io.out(USAGE);
    return command === undefined && !values.help ? 2 : 0;
  }

  // Migrations run before anything else reads the schema; every other command uses the server's services.
  if (command === 'migrate') {
    const database = handle ?? createDatabase(config.database);
    try {
      await migrateCommand(database, sub, io);
    } finally {
      if (!handle) await database.destroy();
    }
    return 0;
  }

  const log = cliLog(config);
  const resources = openResources(config, log, handle ? { database: handle } : {});
  const services = createServices(config, resources, {
    clock: () => new Date(),
    log,
    webUrl: () => config.accounts.publicWebUrl ?? `http://localhost:${config.port}`,
  });
  const { users, subscriptions } = services;
  try {
    if (command === 'user' && sub === 'create') {
      const password = values.password === '-' ? readFileSync(0, 'utf8').replace(/\r?\n$/, '') : values.password;
      if (!password) throw new UsageError('--password is required (or --password - to read it from stdin)');
      // An operator's account: no verification mail (user verify-email marks it verified).
      const user = await services.accounts.register(
        {
          email: values.email ?? '',
          password,
          first_name: values['first-name'] ?? '',
          last_name: values['last-name'] ?? '',
          role: values.role ?? '',
          date_of_birth: values['date-of-birth'] ?? '',
          ...(values.country ? { country: values.country } : {}),
          ...(values.gender ? { gender: values.gender } : {}),
        } as Parameters<AccountService['register']>[0],
        { sendVerificationCode: false },
      );
      io.out(`created ${user.isTalent ? 'talent' : 'background'} user ${user.email} (id ${user.id})`);
    } else if (command === 'user' && sub === 'verify-email') {
      const user = await findUser(users, rest[0]);
      await users.setEmailVerified(user.id, true, services.clock().toISOString());
      io.out(`email verified for ${user.email}`);
    } else if (command === 'user' && sub === 'delete') {
      const user = await findUser(users, rest[0]);
      // Files, queued mails and the outbox folder's copies of mails to the user go with the account.
      await services.accounts.deleteUser(user.id);
      io.out(`deleted ${user.email} with their profile, items, subscriptions and files`);
    } else if (command === 'subscription' && sub === 'grant') {
      const user = await findUser(users, rest[0]);
      if (!rest[1]) throw new UsageError('a plan is required');
      const months = values.months === undefined ? 12 : Number(values.months);
      const granted = await subscriptions.grant(user, rest[1], months);
      io.out(`granted ${granted.plan} to ${user.email} until ${granted.endDate}`);
    } else if (command === 'subscription' && sub === 'revoke') {
      const user = await findUser(users, rest[0]);
      const cancelled = await subscriptions.revoke(user.id);
      io.out(cancelled === 0 ? `${user.email} has no active subscription` : `revoked the subscription of ${user.email}`);
    } else if (command === 'media' && sub === 'sweep' && values.legacy) {
      const { orphans, deleted } = await services.media.sweep.legacyOrphans({ remove: values.delete === true });
      for (const name of orphans) io.out(`${values.delete ? 'deleted' : 'unreferenced'} ${name}`);
      io.out(
        `${orphans.length} adopted object(s) no row references${values.delete ? `, ${deleted} deleted` : ' (run again with --delete to delete them)'}`,
      );
    } else if (command === 'import' && sub === 'django') {
      if (!values.from) throw new UsageError('--from <postgres url of the Django database> is required');
      await migrateToLatest(services.database.db);
      await importDjango(
        services,
        values.from,
        { dryRun: values['dry-run'] === true, ...(values['legacy-media-dir'] ? { legacyMediaDir: values['legacy-media-dir'] } : {}) },
        io,
        process.stderr.isTTY === true,
      );
    } else if (command === 'media' && sub === 'backfill') {
      const concurrency = values.concurrency === undefined ? 1 : Number(values.concurrency);
      if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
        throw new UsageError('--concurrency must be a whole number from 1 to 64');
      }
      const report = await backfillPictures(
        services.media.backfill,
        { dryRun: values['dry-run'] === true, concurrency },
        io,
        process.stderr.isTTY === true,
      );
      // Scripts notice pictures that could not be backfilled (each is named above).
      if (report.failed.length > 0) return 1;
    } else if (command === 'media' && sub === 'remind-headshots') {
      const queued = await services.gallery.remindStaleHeadshots(10_000);
      io.out(`queued ${queued} headshot reminder mail(s)`);
    } else if (command === 'media' && sub === 'sweep') {
      const graceSeconds = values.grace === undefined ? config.media.sweepGraceSeconds : parseDuration(values.grace);
      if (graceSeconds === undefined) throw new UsageError(`--grace "${values.grace}" must be a duration such as 0, 90s, 30m or 1h`);
      await sweepCommand(services.media.sweep, { dryRun: values['dry-run'] === true, graceSeconds }, io);
    } else {
      throw new UsageError(`unknown command "${[command, sub].filter(Boolean).join(' ')}"`);
    }
    return 0;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    // What failed may be the schema missing: say what to run instead of the database's error.
    const pending = await createMigrator(services.database.db)
      .getMigrations()
      .then((migrations) => migrations.filter((migration) => !migration.executedAt).map((migration) => migration.name))
      .catch(() => []);
    if (pending.length > 0) throw new NotMigratedError(pending, error);
    throw error;
  } finally {
    await services.background.settled();
    await services.mail.close();
    await resources.close();
  }
}

async function main(): Promise<void> {
  const io: Output = { out: (line) => console.log(line), err: (line) => console.error(line) };
  try {
    const config = loadConfig();
    process.exitCode = await runCli(process.argv.slice(2), config, io);
  } catch (error) {
    if (error instanceof ConfigError) {
      io.err(error.message);
    } else if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`error: ${(error as Error).message}\n\n${USAGE}`);
      process.exitCode = 2;
      return;
    } else if (error instanceof ApiError) {
      io.err(describeApiError(error));
    } else if (error instanceof NotMigratedError) {
      io.err(`error: ${error.message}`);
    } else {
      io.err(`error: ${(error as Error).stack ?? String(error)}`);
    }
    process.exitCode = 1;
  }
}

// Run only as the entry point (also through the npm bin symlink), so tests can import runCli.
if (process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))) {
  await main();
}
