export class QueueFullError extends Error {
  constructor() {
    super('image processing queue is full');
    this.name = 'QueueFullError';
  }
}

/**
 * At most `concurrency` tasks run at once; at most `queueLimit` more wait. Beyond that, run()
 * refuses at once instead of letting memory grow with the backlog.
 */
export class WorkLimiter {
  #active = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(
    readonly concurrency: number,
    readonly queueLimit: number,
  ) {}

  get active(): number {
    return this.#active;
  }

  get queued(): number {
    return this.#waiting.length;
  }

  /** True when a new task would be refused. */
  get saturated(): boolean {
    return this.#active >= this.concurrency && this.#waiting.length >= this.queueLimit;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#active >= this.concurrency) {
      if (this.#waiting.length >= this.queueLimit) throw new QueueFullError();
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#active += 1;
    }
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      // The slot passes straight to the next waiter, so #active stays the same.
      if (next) next();
      else this.#active -= 1;
    }
  }
}
