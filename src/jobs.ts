import type { Config } from './config.js';
import { removeStaleUploads } from './http/multipart.js';
import type { Log } from './log.js';
import type { Services } from './services.js';

const HOUR_MS = 60 * 60 * 1000;

/** A task run every `ms`, never two passes at once; a failed pass is logged and the next one runs. */
function every(ms: number, name: string, log: Log, task: () => Promise<unknown>, now = false) {
  let running: Promise<void> | undefined;
  const run = () => {
    if (running) return;
    running = task()
      .then(() => undefined)
      .catch((error: unknown) => log.warn({ err: error }, `${name} failed`))
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(run, ms);
  timer.unref();
  if (now) run();
  return async () => {
    clearInterval(timer);
    await running;
  };
}

/**
 * The server's background work, in one place: retrying queued file deletions, sending the mail
 * outbox and removing old kept copies, pruning token revocations that outlived their tokens, and
 * (once, at start) removing upload files a killed process left behind. `stop()` ends the timers and
 * waits for passes under way.
 */
export function startJobs(services: Services, config: Config, log: Log): { stop(): Promise<void> } {
  const stops: (() => Promise<void>)[] = [];
  if (config.media.deleteRetryIntervalSeconds > 0) {
    stops.push(
      every(config.media.deleteRetryIntervalSeconds * 1000, 'deletion retry pass', log, () => services.media.deletions.retryDue()),
    );
  }
  if (config.mail.intervalSeconds > 0) {
    stops.push(every(config.mail.intervalSeconds * 1000, 'mail outbox pass', log, () => services.mail.sendDue()));
    stops.push(every(HOUR_MS, 'removing old outbox files', log, () => services.mail.expire(), true));
    // One "time for a new headshot" mail per headshot past six months, queued through the outbox.
    stops.push(every(6 * HOUR_MS, 'headshot reminders', log, () => services.gallery.remindStaleHeadshots(), true));
  }
  // Revocations only matter until the tokens they name expire anyway.
  stops.push(every(HOUR_MS, 'pruning token revocations', log, () => services.revocations.prune(services.clock().toISOString())));
  // Uploads are seconds long; an hour-old upload file belongs to a process that died.
  removeStaleUploads(config.images.uploadTmpDir, HOUR_MS).catch((error: unknown) =>
    log.warn({ err: error }, 'could not clean stale upload files'),
  );
  return {
    stop: async () => {
      await Promise.all(stops.map((stop) => stop()));
    },
  };
}
