import type { BaseLogger } from 'pino';

/** What services and jobs log through: the app's pino logger (or the CLI's), never a request's. */
export type Log = Pick<BaseLogger, 'debug' | 'info' | 'warn' | 'error'>;
