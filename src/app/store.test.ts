import { beforeEach, describe, expect, it } from 'vitest';
import { fakeRun } from './compare/testRuns';
import { addRun, MAX_RUNS, pinRuns, selectLast, selectRun, useAppStore } from './store';

describe('runs: stored once, the rest derived', () => {
  beforeEach(() => {
    useAppStore.setState(useAppStore.getInitialState(), true);
    pinRuns([], true);
  });

  it('the latest interactive run is the newest non-grid run', () => {
    expect(selectLast(useAppStore.getState())).toBeNull();
    addRun(fakeRun({ requestId: 'a', source: 'single' }));
    addRun(fakeRun({ requestId: 'g', source: 'grid' }));
    expect(selectLast(useAppStore.getState())?.requestId).toBe('a');
    addRun(fakeRun({ requestId: 'b', source: 'single' }));
    expect(selectLast(useAppStore.getState())?.requestId).toBe('b');
    expect(selectRun(useAppStore.getState(), 'g')?.source).toBe('grid');
    expect(selectRun(useAppStore.getState(), undefined)).toBeNull();
  });

  it(`keeps the newest ${MAX_RUNS} runs, and never drops a pinned (grid cell) run`, () => {
    addRun(fakeRun({ requestId: 'cell', source: 'grid' }));
    pinRuns(['cell']);
    for (let i = 0; i < MAX_RUNS + 10; i++) addRun(fakeRun({ requestId: `r${i}`, source: 'single' }));
    const ids = useAppStore.getState().runs.map((r) => r.requestId);
    expect(ids).toHaveLength(MAX_RUNS);
    expect(ids[0]).toBe('cell');
    expect(ids.at(-1)).toBe(`r${MAX_RUNS + 9}`);
    expect(ids).not.toContain('r10');
    pinRuns([], true);
    addRun(fakeRun({ requestId: 'next', source: 'single' }));
    expect(useAppStore.getState().runs.map((r) => r.requestId)).not.toContain('cell');
  });
});
