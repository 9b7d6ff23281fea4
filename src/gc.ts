import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Collect = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async'; flavor?: 'regular' | 'last-resort' }) => void;

let collect: Collect | undefined;

/**
 * V8's collector for this thread, exposed at run time (the same function `--expose-gc` gives);
 * undefined if it cannot be.
 */
export function collector(): Collect | undefined {
  if (collect) return collect;
  try {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as Collect;
  } catch {
    collect = undefined;
  }
  return collect;
}

/**
 * A full collection that gives memory back to the system. V8 keeps its young generation at the
 * size start-up or a burst grew it to (32 MB at `--max-semi-space-size=16`) and the old
 * generation's pages that start-up garbage filled, and nothing in a quiet process makes it shrink
 * them. The "last resort" collection (what V8 runs before it gives up on memory) shrinks both; it
 * needs V8 12 (Node 22) or later, and is an ordinary full collection before that. It holds this
 * thread for its whole length: about 120 ms for a server at rest on Node 24 here.
 */
export function giveBackMemory(): void {
  collector()?.({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}

/**
 * Gives memory back once the server has gone quiet after it grew: `check()`, run every quiet
 * period (`every`), finds that no request arrived in the period and none is still being answered
 * (an upload's image work included), after requests in which the process's RSS rose by at least
 * `growthBytes` since the last time. A busy server is never interrupted, and a quiet one that only
 * answers health checks and metric scrapes (which grow nothing) is not collected again and again.
 */
export class GiveBackWhenQuiet {
  #arrived = false;
  #since = false;
  #open = 0;
  #baseline: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly growthBytes: number,
    private readonly giveBack: () => void = giveBackMemory,
    private readonly rss: () => number = process.memoryUsage.rss,
  ) {
    this.#baseline = rss();
  }

  /** Checks every `quietMs` until stopped (the timer never keeps the process alive). */
  every(quietMs: number): this {
    this.stop();
    this.#timer = setInterval(() => this.check(), quietMs).unref();
    return this;
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** A request arrived; the function returned marks it answered (call it once). */
  request(): () => void {
    this.#arrived = true;
    this.#open += 1;
    return () => {
      this.#open -= 1;
    };
  }

  /** What the process holds now is its baseline (after a give-back at start-up). */
  settled(): void {
    this.#baseline = this.rss();
  }

  /** The end of a period: gives back if it was quiet after requests that grew the process. */
  check(): void {
    if (this.#arrived || this.#open > 0) {
      this.#arrived = false;
      this.#since = true;
      return;
    }
    if (!this.#since) return;
    this.#since = false;
    if (this.rss() - this.#baseline < this.growthBytes) return;
    this.giveBack();
    this.settled();
  }
}
