import { describe, expect, it } from 'vitest';
import { CancelledError } from './errors';
import { CancelToken, LatestWinsRunner, SerialQueue } from './queue';

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

describe('SerialQueue', () => {
  it('never runs two tasks at once and survives failures', async () => {
    const q = new SerialQueue();
    let active = 0;
    let maxActive = 0;
    const order: number[] = [];
    const task = (i: number, fail = false) => async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      await tick(2);
      order.push(i);
      active--;
      if (fail) throw new Error(`boom ${i}`);
      return i;
    };
    const results = await Promise.allSettled([q.run(task(1)), q.run(task(2, true)), q.run(task(3))]);
    expect(maxActive).toBe(1);
    expect(order).toEqual([1, 2, 3]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(q.size).toBe(0);
  });
});

/** A fake generation: `steps` step boundaries, each checking the token. */
function fakeRun(steps: number, log: string[], name: string) {
  return async (token: CancelToken) => {
    for (let i = 0; i < steps; i++) {
      token.throwIfCancelled();
      log.push(`${name}:${i}`);
      await tick(1);
    }
    return name;
  };
}

describe('LatestWinsRunner', () => {
  it('runs one job at a time; a new submit cancels the running job at its next step and drops waiting ones', async () => {
    const r = new LatestWinsRunner<string>();
    const log: string[] = [];
    const a = r.submit('a', fakeRun(50, log, 'a'));
    await tick(5);
    const b = r.submit('b', fakeRun(3, log, 'b'));
    const c = r.submit('c', fakeRun(3, log, 'c'));
    const [ra, rb, rc] = await Promise.allSettled([a, b, c]);
    expect(ra.status === 'rejected' && ra.reason).toBeInstanceOf(CancelledError);
    expect(rb.status === 'rejected' && String(rb.reason)).toMatch(/Superseded by request c/);
    expect(rc).toEqual({ status: 'fulfilled', value: 'c' });
    expect(log.filter((l) => l.startsWith('b'))).toEqual([]);
    expect(log.filter((l) => l.startsWith('a')).length).toBeLessThan(50);
    // c only started after a stopped
    const lastA = log.map((l) => l.startsWith('a')).lastIndexOf(true);
    expect(log.indexOf('c:0')).toBeGreaterThan(lastA);
  });

  it('slider burst: five quick submits end with the last one and nothing overlaps', async () => {
    const r = new LatestWinsRunner<string>();
    let active = 0;
    let maxActive = 0;
    const mk = (name: string) => async (token: CancelToken) => {
      active++;
      maxActive = Math.max(maxActive, active);
      try {
        for (let i = 0; i < 5; i++) {
          token.throwIfCancelled();
          await tick(1);
        }
        return name;
      } finally {
        active--;
      }
    };
    const ps = [1, 2, 3, 4, 5].map((i) => r.submit(`s${i}`, mk(`s${i}`)));
    const settled = await Promise.allSettled(ps);
    expect(settled.slice(0, 4).every((s) => s.status === 'rejected')).toBe(true);
    expect(settled[4]).toEqual({ status: 'fulfilled', value: 's5' });
    expect(maxActive).toBe(1);
  });

  it('cancel by id stops the running job at the next boundary; unknown ids are ignored', async () => {
    const r = new LatestWinsRunner<string>();
    const log: string[] = [];
    const a = r.submit('a', fakeRun(100, log, 'a'));
    await tick(3);
    expect(r.cancel('zzz')).toBe(false);
    expect(r.activeId).toBe('a');
    expect(r.cancel('a')).toBe(true);
    await expect(a).rejects.toBeInstanceOf(CancelledError);
    expect(log.length).toBeLessThan(100);
    expect(r.activeId).toBeNull();
    await expect(r.submit('b', fakeRun(1, log, 'b'))).resolves.toBe('b');
  });
});
