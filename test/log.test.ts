import { once } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { processWarningsToLog, type Log } from '../src/log.js';

type WarningListener = (warning: Error) => void;

/** A logger that records its `warn` calls. */
function recordingLog() {
  const warned: unknown[][] = [];
  const log: Log = { debug: vi.fn(), info: vi.fn(), error: vi.fn(), warn: (...args: unknown[]) => warned.push(args) };
  return { log, warned };
}

// The test process's own listeners are set aside and put back: each case starts with a stand-in
// for Node's printer (the function Node names `onWarning`), or none (as under --no-warnings).
describe('process warnings as log lines', () => {
  let saved: WarningListener[];
  beforeEach(() => {
    saved = process.listeners('warning');
    process.removeAllListeners('warning');
  });
  afterEach(() => {
    process.removeAllListeners('warning');
    for (const listener of saved) process.on('warning', listener);
  });

  /** Emits a warning (with the code CASTFOLIO_TEST unless told otherwise) and waits until it is delivered. */
  const warn = async (message: string, how: string | { code: string } = { code: 'CASTFOLIO_TEST' }) => {
    const emitted = once(process, 'warning');
    if (typeof how === 'string') process.emitWarning(message, how);
    else process.emitWarning(message, how);
    await emitted;
  };

  it("replaces Node's printer and keeps every other listener", async () => {
    const printed: string[] = [];
    const onWarning: WarningListener = (warning) => printed.push(warning.message);
    const agentSaw: string[] = [];
    process.on('warning', onWarning);
    process.on('warning', (warning) => agentSaw.push(warning.message));
    const { log, warned } = recordingLog();

    const warnings = processWarningsToLog();
    await warn('before the logger');
    warnings.logTo(log);
    await warn('after the logger');

    expect(printed).toEqual([]);
    expect(agentSaw).toEqual(['before the logger', 'after the logger']);
    expect(warned).toEqual([
      [{ warning: { name: 'Warning', code: 'CASTFOLIO_TEST', message: 'before the logger' } }, 'process warning'],
      [{ warning: { name: 'Warning', code: 'CASTFOLIO_TEST', message: 'after the logger' } }, 'process warning'],
    ]);
  });

  it("leaves out what --disable-warning names, by code or by name, as Node's printer does", async () => {
    process.on('warning', function onWarning() {});
    const { log, warned } = recordingLog();
    vi.stubEnv('NODE_OPTIONS', '--max-semi-space-size=16 --disable-warning="CASTFOLIO_TEST" --disable-warning ExperimentalWarning');
    try {
      processWarningsToLog().logTo(log);
    } finally {
      vi.unstubAllEnvs();
    }
    await warn('left out by its code');
    await warn('left out by its name', 'ExperimentalWarning');
    await warn('logged', { code: 'CASTFOLIO_OTHER' });

    expect(warned).toEqual([[{ warning: { name: 'Warning', code: 'CASTFOLIO_OTHER', message: 'logged' } }, 'process warning']]);
  });

  it('logs none when Node prints none (--no-warnings)', async () => {
    const agentSaw: string[] = [];
    process.on('warning', (warning) => agentSaw.push(warning.message));
    const { log, warned } = recordingLog();

    processWarningsToLog().logTo(log);
    await warn('silenced');

    expect(warned).toEqual([]);
    expect(agentSaw).toEqual(['silenced']);
  });
});
