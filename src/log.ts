import type { BaseLogger } from 'pino';

/** What services and jobs log through: the app's pino logger (or the CLI's), never a request's. */
export type Log = Pick<BaseLogger, 'debug' | 'info' | 'warn' | 'error'>;

/** The listener Node adds at start-up to print warnings; absent when started with `--no-warnings`. */
const NODE_PRINTER = 'onWarning';

/**
 * Process warnings (a deprecation, a library's notice: the AWS SDK's about Node 20 when S3 storage
 * starts) as JSON log lines at `warn`, instead of Node's plain-text lines on stderr between them.
 * Those emitted before the logger exists (while the app is built) wait for it. Only Node's own
 * printer is replaced: other listeners (a monitoring agent's) stay, and what the printer would
 * leave out is left out: everything under `--no-warnings`, what `--disable-warning` names.
 */
export function processWarningsToLog(): { logTo(log: Log): void } {
  const waiting: Error[] = [];
  let log: Log | undefined;
  const write = (to: Log, warning: Error) =>
    to.warn(
      { warning: { name: warning.name, code: (warning as NodeJS.ErrnoException).code, message: warning.message } },
      'process warning',
    );
  const printers = process.listeners('warning').filter((listener) => listener.name === NODE_PRINTER);
  for (const printer of printers) process.removeListener('warning', printer);
  if (printers.length === 0) return { logTo() {} };
  const disabled = disabledWarnings();
  process.on('warning', (warning) => {
    // Node still emits what --disable-warning names (a warning's name or code); its printer leaves it out.
    const code = (warning as NodeJS.ErrnoException).code;
    if (disabled.has(warning.name) || (code !== undefined && disabled.has(code))) return;
    if (log) write(log, warning);
    else waiting.push(warning);
  });
  return {
    logTo(to) {
      log = to;
      for (const warning of waiting.splice(0)) write(to, warning);
    },
  };
}

/**
 * The warning names and codes given to --disable-warning, on the command line or in NODE_OPTIONS
 * (whose values Node also takes in double quotes; names and codes hold no spaces).
 */
function disabledWarnings(): Set<string> {
  const args = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/).map((arg) => arg.replaceAll('"', ''))];
  const disabled = new Set<string>();
  args.forEach((arg, i) => {
    if (arg.startsWith('--disable-warning=')) disabled.add(arg.slice('--disable-warning='.length));
    else if (arg === '--disable-warning' && args[i + 1]) disabled.add(args[i + 1]!);
  });
  return disabled;
}
