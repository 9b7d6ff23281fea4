import cliProgress from 'cli-progress';
import type { ImportReport } from './modules/legacy/importer.js';
import { DjangoSource } from './modules/legacy/source.js';
import type { Services } from './services.js';

interface Output {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** Progress per stage: bars on a terminal, a plain line per finished stage (and every 10 % of files) otherwise. */
function progressReporter(io: Output, tty: boolean) {
  if (tty) {
    const bars = new cliProgress.MultiBar(
      { format: ' {stage} |{bar}| {value}/{total}', hideCursor: true, clearOnComplete: false, stream: process.stderr },
      cliProgress.Presets.shades_classic,
    );
    const byStage = new Map<string, cliProgress.SingleBar>();
    return {
      update: (stage: string, done: number, total: number) => {
        let bar = byStage.get(stage);
        if (!bar) byStage.set(stage, (bar = bars.create(total, 0, { stage: stage.padEnd(40) })));
        bar.setTotal(total);
        bar.update(done);
      },
      stop: () => bars.stop(),
    };
  }
  const shown = new Map<string, number>();
  return {
    update: (stage: string, done: number, total: number) => {
      const tenth = total === 0 ? 10 : Math.floor((done / total) * 10);
      if (done !== total && tenth <= (shown.get(stage) ?? -1)) return;
      shown.set(stage, tenth);
      io.err(`${stage}: ${done}/${total}`);
    },
    stop: () => undefined,
  };
}

function summary(report: ImportReport, io: Output): void {
  const verb = report.dryRun ? 'would be ' : '';
  for (const [stage, c] of Object.entries(report.stages)) {
    io.out(
      `${stage}: ${c.read} read, ${c.created} ${verb}created, ${c.updated} ${verb}updated, ${c.unchanged} unchanged, ` +
        `${c.deleted} ${verb}deleted (gone from the source), ${c.skipped} skipped`,
    );
  }
  const p = report.pictures;
  io.out(`files: ${p.checked} checked, ${p.missing} missing from storage, ${p.uploaded} ${verb}uploaded from --legacy-media-dir`);
  for (const note of report.notes) io.out(`${note.action} ${note.table} ${note.sourceId}: ${note.reason}`);
  io.out(report.dryRun ? 'dry run: nothing was written' : 'import complete');
}

/** `import django --from <postgres url>`: see docs/cutover.md. */
export async function importDjango(
  services: Services,
  url: string,
  options: { dryRun: boolean; legacyMediaDir?: string },
  io: Output,
  tty: boolean,
): Promise<void> {
  const source = await DjangoSource.open(url);
  const progress = progressReporter(io, tty);
  try {
    const report = await services.djangoImport.run(source, { ...options, progress: progress.update });
    progress.stop();
    summary(report, io);
  } finally {
    progress.stop();
    await source.close();
  }
}
