import { describe, expect, it } from 'vitest';
import { soak } from '../../bench/soak-lib.js';

describe('soak (short, as CI runs it; `npm run soak` runs 10 minutes)', () => {
  it('serves a mixed load with no error and no memory growth beyond 15 % after warm-up', async () => {
    const report = await soak({
      seconds: Number(process.env.SOAK_SECONDS ?? 40),
      warmupSeconds: Number(process.env.SOAK_WARMUP_SECONDS ?? 20),
      concurrency: 8,
      maxGrowth: 0.15,
      log: (line) => console.log(line),
    });
    expect(report.errors).toEqual([]);
    expect(report.byKind.upload).toBeGreaterThan(0);
    expect(report.growth).toBeLessThanOrEqual(0.15);
  });
});
