import { PictureBackfill } from './modules/media/backfill.js';
import { PasswordChecker } from './auth/passwords.js';
import { TokenService } from './auth/tokens.js';
import { requireJwtSecret, type Config } from './config.js';
import { createDatabase, type DatabaseHandle } from './db/index.js';
import { WorkLimiter } from './images/limiter.js';
import { ImageWork } from './images/work.js';
import type { Log } from './log.js';
import { AccountLifecycle } from './modules/accounts/lifecycle.js';
import { UserRepository } from './modules/accounts/repository.js';
import { RevocationRepository } from './modules/accounts/revocations.js';
import { AccountService } from './modules/accounts/service.js';
import { GalleryRepository } from './modules/gallery/repository.js';
import { GalleryService } from './modules/gallery/service.js';
import { ItemRepository } from './modules/items/repository.js';
import { ItemService } from './modules/items/service.js';
import { DjangoImport } from './modules/legacy/importer.js';
import { ImportRepository } from './modules/legacy/repository.js';
import { MailService } from './modules/mail/service.js';
import { outboxFolderTransport, smtpTransport, type MailTransport } from './modules/mail/transport.js';
import { MediaChanges } from './modules/media/changes.js';
import { DeletionQueue } from './modules/media/deletions.js';
import { BackgroundWork } from './background.js';
import { MediaIngest, type IngestObserver } from './modules/media/ingest.js';
import { MediaRepository } from './modules/media/repository.js';
import { MediaSweep } from './modules/media/sweep.js';
import { ProfileRepository } from './modules/profiles/repository.js';
import { ProfileService } from './modules/profiles/service.js';
import { SocialLinksRepository } from './modules/social/repository.js';
import { SocialLinksService } from './modules/social/service.js';
import { SubscriptionRepository } from './modules/subscriptions/repository.js';
import { SubscriptionService } from './modules/subscriptions/service.js';
import { createStorage, type Storage } from './storage/index.js';
import { TimeoutStorage } from './storage/timeout.js';

/** What the services run on. Each is made from configuration unless the caller hands one in (and then owns it). */
export interface Resources {
  database: DatabaseHandle;
  storage: Storage;
  mailTransport: MailTransport;
  /** Work started and not waited for (deletions after an answer, clean-up after a timed-out put). */
  background: BackgroundWork;
  /** Closes what was made here, not what was handed in. */
  close(): Promise<void>;
}

export function openResources(config: Config, log: Log, given: Partial<Omit<Resources, 'close' | 'background'>> = {}): Resources {
  const background = new BackgroundWork(log);
  const database = given.database ?? createDatabase(config.database, log);
  const storage = given.storage ?? createStorage(config.storage);
  const mailTransport =
    given.mailTransport ?? (config.mail.smtpUrl ? smtpTransport(config.mail.smtpUrl) : outboxFolderTransport(config.mail.outboxDir, log));
  return {
    database,
    storage: new TimeoutStorage(storage, config.storage.timeoutMs, { background, log }),
    mailTransport,
    background,
    close: async () => {
      if (!given.storage) await storage.close();
      if (!given.database) await database.destroy();
    },
  };
}

export interface ServiceDeps {
  clock: () => Date;
  log: Log;
  /** Base of links in mails (PUBLIC_WEB_URL, or in development the server's own address). */
  webUrl: () => string;
  /** Metrics of received uploads and image work. */
  observe?: IngestObserver;
}

const IGNORE: IngestObserver = { uploaded: () => undefined, image: () => undefined };

/**
 * Every repository and service, wired once: the server and the CLI both use this, so a command
 * deletes a user exactly as the API does. Needs a resolved JWT secret (resolveJwtSecret).
 */
export function createServices(config: Config, resources: Resources, deps: ServiceDeps) {
  const secret = requireJwtSecret(config);
  const { clock, log } = deps;
  const { database, storage } = resources;
  const { db } = database;

  const users = new UserRepository(db, database.dialect);
  const subscriptionRecords = new SubscriptionRepository(db);
  const revocations = new RevocationRepository(db);
  const mediaRecords = new MediaRepository(db, database.dialect);
  const galleryRecords = new GalleryRepository(db, database.dialect);
  const tokens = new TokenService(
    secret,
    { access: config.jwt.accessTtlSeconds, refresh: config.jwt.refreshTtlSeconds },
    clock,
    config.jwt.legacy,
  );
  const passwords = new PasswordChecker(new WorkLimiter(config.accounts.legacyPasswordConcurrency, 256));

  const ingest = new MediaIngest({
    storage,
    imageWork: new ImageWork(config.images),
    videoLimiter: new WorkLimiter(config.videos.concurrency, config.videos.queueLimit),
    images: config.images,
    videos: config.videos,
    log,
    observe: deps.observe ?? IGNORE,
  });
  const { background } = resources;
  const deletions = new DeletionQueue({ storage, repository: mediaRecords, clock, log, background });
  const sweep = new MediaSweep({ storage, repository: mediaRecords, deletions, clock });
  const changes = new MediaChanges({ ingest, deletions, records: mediaRecords, clock });

  const mail = new MailService({
    db,
    transport: resources.mailTransport,
    from: config.mail.from,
    clock,
    log,
    retentionMs: config.mail.outboxRetentionSeconds * 1000,
  });
  const lifecycle = new AccountLifecycle({
    db,
    users,
    mail,
    config: config.accounts,
    webUrl: deps.webUrl,
    appName: config.mail.appName,
    secret,
    clock,
    log,
  });
  const accounts = new AccountService({
    users,
    tokens,
    passwords,
    clock,
    deletions,
    revocations,
    rotateRefreshTokens: config.accounts.rotateRefreshTokens,
    refreshTtlSeconds: config.jwt.refreshTtlSeconds,
    onRegistered: (user) => lifecycle.sendFirstCode(user),
    onDeleted: (email) => mail.forget(email),
    log,
  });

  return {
    clock,
    background,
    database,
    storage,
    users,
    revocations,
    accounts,
    lifecycle,
    mail,
    subscriptionRecords,
    subscriptions: new SubscriptionService(subscriptionRecords, clock),
    profiles: new ProfileService({
      profiles: new ProfileRepository(db, database.dialect),
      subscriptions: subscriptionRecords,
      gallery: galleryRecords,
      users,
      media: changes,
      clock,
    }),
    gallery: new GalleryService({
      gallery: galleryRecords,
      subscriptions: subscriptionRecords,
      media: changes,
      clock,
      limits: { imageBytes: config.images.maxBytes, videoBytes: config.videos.maxBytes },
      mail: { appName: config.mail.appName, webUrl: deps.webUrl },
    }),
    items: new ItemService({ items: new ItemRepository(db, database.dialect), subscriptions: subscriptionRecords, media: changes, clock }),
    social: new SocialLinksService({ links: new SocialLinksRepository(db), clock }),
    media: {
      records: mediaRecords,
      ingest,
      deletions,
      sweep,
      backfill: new PictureBackfill({
        db,
        storage,
        ingest,
        records: mediaRecords,
        deletions,
        changes,
        clock,
        log,
      }),
    },
    djangoImport: new DjangoImport({ repository: new ImportRepository(db, database.dialect), storage, deletions, clock, log }),
  };
}

export type Services = ReturnType<typeof createServices>;
