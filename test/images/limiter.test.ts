import { describe, expect, it } from 'vitest';
import { QueueFullError, WorkLimiter } from '../../src/images/limiter.js';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('WorkLimiter', () => {
  it('runs at most `concurrency` tasks and queues up to `queueLimit` more, refusing the rest', async () => {
    const limiter = new WorkLimiter(2, 1);
    const gates = [deferred(), deferred(), deferred()];
    let running = 0;
    let peak = 0;
    const task = (i: number) => async () => {
      running += 1;
      peak = Math.max(peak, running);
      await gates[i]!.promise;
      running -= 1;
      return i;
    };
    const results = [limiter.run(task(0)), limiter.run(task(1)), limiter.run(task(2))];
    expect(limiter.active).toBe(2);
    expect(limiter.queued).toBe(1);
    expect(limiter.saturated).toBe(true);
    await expect(limiter.run(async () => 99)).rejects.toBeInstanceOf(QueueFullError);

    gates[0]!.resolve();
    await results[0];
    gates[1]!.resolve();
    gates[2]!.resolve();
    expect(await Promise.all(results)).toEqual([0, 1, 2]);
    expect(peak).toBe(2);
    expect(limiter.active).toBe(0);
    expect(limiter.saturated).toBe(false);
  });

  it('frees the slot when a task throws', async () => {
    const limiter = new WorkLimiter(1, 0);
    await expect(limiter.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await limiter.run(async () => 'next')).toBe('next');
  });
});

describe('removeStaleUploads', () => {
  it('removes upload files (and folders of earlier versions) older than the cut-off and keeps fresh ones', async () => {
    const { mkdtempSync, mkdirSync, readdirSync, utimesSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const { removeStaleUploads } = await import('../../src/http/multipart.js');
    const dir = mkdtempSync(path.join(tmpdir(), 'castfolio-stale-'));
    mkdirSync(path.join(dir, 'upload-old'));
    mkdirSync(path.join(dir, 'upload-new'));
    mkdirSync(path.join(dir, 'unrelated'));
    writeFileSync(path.join(dir, 'upload-0a1b-old-file'), 'half an upload');
    writeFileSync(path.join(dir, 'upload-0a1b-new-file'), 'an upload in progress');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600 * 1000);
    utimesSync(path.join(dir, 'upload-old'), twoHoursAgo, twoHoursAgo);
    utimesSync(path.join(dir, 'upload-0a1b-old-file'), twoHoursAgo, twoHoursAgo);
    expect(await removeStaleUploads(dir, 3600 * 1000)).toBe(2);
    expect(readdirSync(dir).sort()).toEqual(['unrelated', 'upload-0a1b-new-file', 'upload-new']);
  });
});
