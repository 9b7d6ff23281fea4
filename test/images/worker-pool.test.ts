import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const main = fileURLToPath(new URL('../fixtures/workers/young-generation-main.ts', import.meta.url));

describe('worker threads (face check, HEIC decoder)', () => {
  it('keep their own young generation under the server’s --max-semi-space-size, which keeps its own', async () => {
    // As `npm start` runs the server: the flag is process-wide in V8, and overrode the threads' limit.
    const { stdout } = await promisify(execFile)(process.execPath, ['--max-semi-space-size=16', '--import', 'tsx', main], {
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    const { thread, server } = JSON.parse(stdout) as { thread: number; server: number };
    expect(thread).toBeLessThanOrEqual(8);
    expect(server).toBe(32);
  }, 60_000);
});
