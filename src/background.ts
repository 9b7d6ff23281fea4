import type { Log } from './log.js';

/**
 * Work a request starts but does not wait for (deleting the files a change replaced): run once
 * the answer is written, its failures logged, and tracked so shutdown, the CLI and tests can wait
 * for what is under way (`settled`).
 */
export class BackgroundWork {
  readonly #running = new Set<Promise<void>>();

  constructor(private readonly log: Log) {}

  /**
   * Runs `work` after the current I/O callbacks (setImmediate): a handler's answer is written
   * before it starts. Nothing it throws reaches the request; it is logged as `what` failing.
   */
  start(what: string, work: () => Promise<void>): void {
    const running: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
      .then(work)
      .catch((error: unknown) => this.log.warn({ err: error }, `${what} failed`))
      .finally(() => this.#running.delete(running));
    this.#running.add(running);
  }

  /** Resolves once nothing started here is still running (work it starts meanwhile included). */
  async settled(): Promise<void> {
    while (this.#running.size > 0) await Promise.all(this.#running);
  }
}
