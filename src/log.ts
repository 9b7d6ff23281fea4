import type { BaseLogger } from 'pino';

/** What services and jobs log through: the app's pino logger (or the CLI's), never a request's. */
export type Log = Pick<BaseLogger, 'debug' | 'info' | 'warn' | 'error'>;

/**
 * Process warnings (a deprecation, a library's notice: the AWS SDK's about Node 20 when S3 storage
 * starts) as JSON log lines at `warn`, instead of Node's plain-text lines on stderr between them.
 * Those emitted before the logger exists (while the app is built) wait for it.
 */
export function processWarningsToLog(): { logTo(log: Log): void } {
  const waiting: Error[] = [];
  let log: Log | undefined;
  const write = (to: Log, warning: Error) =>
    to.warn(
      { warning: { name: warning.name, code: (warning as NodeJS.ErrnoException).code, message: warning.message } },
      'process warning',
    );
  // Node's own listener is what prints them.
  process.removeAllListeners('warning');
  process.on('warning', (warning) => (log ? write(log, warning) : waiting.push(warning)));
  return {
    logTo(to) {
      log = to;
      for (const warning of waiting.splice(0)) write(to, warning);
    },
  };
}
