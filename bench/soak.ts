// npm run soak [-- seconds]: mixed load for SOAK_SECONDS (default 600); exits 1 on any error or
// when memory grew more than 15 % after warm-up.
import { soak } from './soak-lib.js';

const seconds = Number(process.argv[2] ?? process.env.SOAK_SECONDS ?? 600);
const report = await soak({
  seconds,
  warmupSeconds: Number(process.env.SOAK_WARMUP_SECONDS ?? Math.max(10, Math.min(60, Math.round(seconds / 10)))),
  concurrency: Number(process.env.SOAK_CONCURRENCY ?? 8),
  maxGrowth: Number(process.env.SOAK_MAX_GROWTH ?? 0.15),
});
process.exit(report.passed ? 0 : 1);
