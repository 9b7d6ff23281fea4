import { describe, expect, it } from 'vitest';
import { GiveBackWhenQuiet } from '../src/gc.js';

const MB = 1024 * 1024;

/** A server whose RSS the test sets, the give-backs it ran (each frees 30 MB), and its quiet check. */
function server(startRss: number) {
  const state = { rss: startRss, givenBack: 0 };
  const quiet = new GiveBackWhenQuiet(
    16 * MB,
    () => {
      state.givenBack += 1;
      state.rss -= 30 * MB;
    },
    () => state.rss,
  );
  return { state, quiet };
}

describe('giving memory back once the server goes quiet', () => {
  it('gives back once, in the first quiet period after requests that grew the process, then not again', () => {
    const { state, quiet } = server(150 * MB);
    quiet.request()();
    state.rss += 60 * MB;
    quiet.check();
    expect(state.givenBack).toBe(0);
    quiet.check();
    expect(state.givenBack).toBe(1);
    quiet.check();
    quiet.check();
    expect(state.givenBack).toBe(1);
  });

  it('never interrupts a busy server: while every period has a request, nothing is collected', () => {
    const { state, quiet } = server(150 * MB);
    for (let period = 0; period < 10; period++) {
      quiet.request()();
      state.rss += 10 * MB;
      quiet.check();
    }
    expect(state.givenBack).toBe(0);
    quiet.check();
    expect(state.givenBack).toBe(1);
  });

  it('waits for requests still being answered (an upload whose image work runs on) before it collects', () => {
    const { state, quiet } = server(150 * MB);
    const answered = quiet.request();
    state.rss += 60 * MB;
    quiet.check();
    quiet.check();
    quiet.check();
    expect(state.givenBack).toBe(0);
    answered();
    quiet.check();
    expect(state.givenBack).toBe(1);
  });

  it('leaves a quiet server that only answers health checks alone (its memory does not grow)', () => {
    const { state, quiet } = server(150 * MB);
    for (let period = 0; period < 6; period++) {
      if (period % 2 === 0) quiet.request()();
      state.rss += 2 * MB;
      quiet.check();
    }
    expect(state.givenBack).toBe(0);
  });

  it('measures growth from what the process held after it last gave back, or when it settled', () => {
    const { state, quiet } = server(100 * MB);
    state.rss = 150 * MB;
    quiet.settled();
    quiet.request()();
    state.rss += 10 * MB;
    quiet.check();
    quiet.check();
    expect(state.givenBack).toBe(0);
    quiet.request()();
    state.rss += 10 * MB;
    quiet.check();
    quiet.check();
    expect(state.givenBack).toBe(1);
    // 140 MB after it: 10 MB more is not worth a collection.
    quiet.request()();
    state.rss += 10 * MB;
    quiet.check();
    quiet.check();
    expect(state.givenBack).toBe(1);
  });

  it('checks on its own timer once started, and stops', async () => {
    const { state, quiet } = server(150 * MB);
    quiet.every(20);
    quiet.request()();
    state.rss += 60 * MB;
    const deadline = Date.now() + 5_000;
    while (state.givenBack === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    quiet.stop();
    expect(state.givenBack).toBe(1);
  });
});
