import { createRequire } from 'node:module';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { isMainThread } from 'node:worker_threads';
import type * as Koffi from 'koffi';

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

/** V8's major version: 11 on Node 20, 12 on Node 22, 13 on Node 24. */
export const V8_MAJOR = Number(process.versions.v8.split('.')[0]);

/**
 * V8's own flag (off by default in Node 24) that counts memory outside the heap (array buffers:
 * sharp's pixels, cuts and encodes) against a limit of its own, grown as the heap's is. Without it,
 * V8 13 counts every array buffer allocated since the last full collection against the old
 * generation's room, and starts marking the whole heap once that room is smaller than its young
 * generation (32 MB at `npm start`'s `--max-semi-space-size=16`). An upload's buffers (about 7 MB
 * for a 1 MP photo, which only a collection can free) live across scavenges while it is in flight,
 * so four 1 MP uploads at a time ran a full collection every two uploads: 29-36 in 68, each freeing
 * 3-7 MB of a 46-49 MB heap. With it, in alternating runs on Node 24: 7-10 full collections, 128-133
 * ms of server CPU per upload against 151-176, 12 MP uploads 308-312 ms against 323-325. Its cost:
 * the peak of 32 simultaneous 10 MB uploads 305-333 MB against 291-310 in eleven alternating pairs
 * (four HEIC uploads at once peaked lower, 396-400 MB against 407-414). README, Quick start.
 */
const EXTERNAL_MEMORY_APART = 'external-memory-accounted-in-global-limit';

/**
 * Sets EXTERNAL_MEMORY_APART for the process (every thread's heap) on V8 13 and later (V8 11, Node
 * 20, has no such flag), unless the process was started with its own say on it (`node
 * --no-external-memory-accounted-in-global-limit dist/server.js` keeps V8's default). Returns
 * whether it set it. Run before the app's modules load.
 */
export function tuneCollector(execArgv: readonly string[] = process.execArgv, v8Major = V8_MAJOR): boolean {
  // V8 takes `_` for `-`, `--no` or `--no-` for a negation, and `=` before a value.
  const own = execArgv.some(
    (argument) =>
      argument
        .split('=', 1)[0]!
        .replaceAll('_', '-')
        .replace(/^--no-?/, '--') === `--${EXTERNAL_MEMORY_APART}`,
  );
  if (v8Major < 13 || own) return false;
  setFlagsFromString(`--${EXTERNAL_MEMORY_APART}`);
  return true;
}

/** V8 12 (Node 22) and later take the "last resort" flavour; V8 11 (Node 20) has none. */
const lastResortFlavour = V8_MAJOR >= 12;

/**
 * A full collection that gives memory back to the system, then (from the main thread, since the C
 * heap is the process's) the C heap trimmed. V8 keeps its young generation at the size start-up
 * or a burst grew it to (32 MB at `--max-semi-space-size=16`) and the old generation's pages that
 * start-up garbage filled, and nothing in a quiet process makes it shrink them. The "last resort"
 * collection (what V8 runs before it gives up on memory) shrinks both. On V8 11 (Node 20) it is
 * the collection `gc()` runs without options: there, a synchronous full collection asked for with
 * options leaves old-generation buffers (request body chunks a burst promoted, sharp's pixel
 * buffers) allocated: in test/gc.test.ts's case 99 MB of buffers stayed where 12 MB were still
 * held. It holds this thread for its whole length: about 120 ms for a server at rest on Node 24.
 */
export function giveBackMemory(): void {
  const collect = collector();
  if (lastResortFlavour) collect?.({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  else collect?.();
  // What the collection freed reaches the C heap a little later: V8 releases array buffers' memory
  // on a background thread, and sharp's buffers in finalisers that run after the collection.
  if (isMainThread) setTimeout(trimNativeHeap, TRIM_DELAY_MS).unref();
}

/** How long after a collection the C heap is trimmed. */
const TRIM_DELAY_MS = 250;

let trim: ((pad: number) => number) | null | undefined;

/**
 * glibc's `malloc_trim(0)`: the pages of the C heap that hold only freed memory go back to the
 * system. Below `MALLOC_MMAP_THRESHOLD_` (128 KB) glibc serves allocations from one heap that it
 * only ever shrinks from its top: every request body arrives in 64 KB chunks (Node's HTTP parser
 * copies each) and V8's optimising compiler works in 32–128 KB segments, so a burst of uploads
 * leaves the heap at 50–55 MB, about 40 MB of it free, until the process ends. Called through
 * koffi (a foreign-function library whose binaries ship in its npm packages); where there is no
 * glibc (musl, macOS) or it cannot be called, nothing is done.
 */
function trimNativeHeap(): void {
  if (trim === undefined) trim = nativeTrim();
  trim?.(0);
}

function nativeTrim(): ((pad: number) => number) | null {
  if (process.platform !== 'linux') return null;
  try {
    const koffi = createRequire(import.meta.url)('koffi') as typeof Koffi;
    return koffi.load('libc.so.6').func('int malloc_trim(size_t pad)') as (pad: number) => number;
  } catch {
    return null;
  }
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

/**
 * Whether sharp's output buffers pile up until V8 happens to run a full collection: on V8 11 (Node
 * 20) they do. sharp hands back each output (a 12 MP picture's 9 MB of decoded pixels, its frames'
 * cuts, its encodes) as memory outside V8's heap, given back when a collection finds it dead; on
 * Node 20 a young-generation collection after each picture freed none of it, and at the peak of
 * the 32-upload burst external memory held 59–67 MB, 40–50 MB of it dead pixels. On Node 22 and
 * 24 it held 17–31 MB there without help, and the collections below changed nothing but the CPU.
 */
export const BUFFERS_PILE_UP = V8_MAJOR < 12;

/**
 * Runs a full collection after a large picture's work in a burst (see BUFFERS_PILE_UP). It is V8's
 * full collection, run in a task of its own right after (not one incremental step at a time):
 * 30–45 ms of this thread with the server's heap, during which it serves no request. So it runs
 * only for pictures that decoded `largeBytes` of pixels or more (a master-sized decode: a burst of
 * 1 MP photos took 20–27 % more CPU when every third one collected, for 7–13 MB less at the peak;
 * 12 MP ones 6–18 % more, for 30–45 MB less), and only when such a picture ends while others are
 * in work or waiting: a picture alone leaves its buffers to V8's own collections and the quiet
 * give-back.
 */
export class PictureGarbage {
  /** Whether a large decode happened since the last collection. */
  #large = false;

  constructor(
    private readonly largeBytes: number,
    private readonly collect: () => Collect | undefined = collector,
  ) {}

  /** A picture's work decoded about this many bytes of pixels (what it makes is sized from them). */
  decoded(bytes: number): void {
    if (bytes >= this.largeBytes) this.#large = true;
  }

  /** Runs one picture's work; after it, collects when `othersInWork()` and a large decode happened since the last time. */
  async around<T>(task: () => Promise<T>, othersInWork: () => boolean): Promise<T> {
    try {
      return await task();
    } finally {
      if (othersInWork() && this.#large) {
        this.#large = false;
        this.collect()?.({ type: 'major', execution: 'async' });
      }
    }
  }
}
