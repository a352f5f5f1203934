// Cancel, then start again, in one store: the cancelled transfer must settle and leave the shared map, and the next
// call must start a fresh transfer that resumes from the stored chunks. A stub fetch stands in for the network, so
// the two ways a cancelled transfer could stay unsettled are deterministic: a body read that never answers the abort
// (what Node's fetch can do when the abort comes as the body ends), and a store write still under way.
import { testCatalogEntry } from '../../../tests/catalogEntry';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CatalogEntry } from '../catalog/schema';
import { isAbortError } from './abort';
import { downloadModel, type DownloadOptions } from './downloadModel';
import { MemoryStore } from './memoryStore';
import type { DownloadProgress } from './progress';
import { DRAIN_WAIT_MS } from './transfer';

const CHUNK = 1024;
const PATH = 'unet/model.onnx';
const data = Uint8Array.from({ length: 4 * CHUNK + 10 }, (_, i) => (i * 31 + 7) & 0xff);

const entry: CatalogEntry = testCatalogEntry({ id: 'stub-model', name: 'Stub model', files: [{ path: PATH, size: data.length }] });

/**
 * A server of `data` for Range requests. `stuck(n)` makes the n-th request's body deliver its bytes and then neither
 * end nor notice the abort of its request.
 */
function rangeServer(stuck: (n: number) => boolean = () => false) {
  const ranges: string[] = [];
  const fetchImpl = (async (_url: RequestInfo | URL, init?: RequestInit) => {
    const range = new Headers(init?.headers).get('range') ?? '';
    const m = /^bytes=(\d+)-(\d*)$/.exec(range);
    if (!m) throw new Error(`stub: unexpected request ${init?.method ?? 'GET'} ${range}`);
    const n = ranges.push(range) - 1;
    const start = Number(m[1]);
    const end = m[2] === '' ? data.length - 1 : Math.min(Number(m[2]), data.length - 1);
    const bytes = data.slice(start, end + 1);
    const body = stuck(n)
      ? new ReadableStream<Uint8Array>({ start: (c) => c.enqueue(bytes) })
      : new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(bytes);
          c.close();
        },
      });
    return new Response(body, {
      status: 206,
      headers: { 'content-range': `bytes ${start}-${end}/${data.length}`, 'content-length': String(bytes.length) },
    });
  }) as typeof fetch;
  return { fetchImpl, ranges };
}

function opts(store: MemoryStore, fetchImpl: typeof fetch, more: Partial<DownloadOptions> = {}): DownloadOptions {
  return { store, fetchImpl, hubBase: 'http://hub.test', chunkSize: CHUNK, backoffMs: 1, stallTimeoutMs: 0, progressIntervalMs: 0, storage: null, ...more };
}

/** Resolves with 'done' when `p` resolves, 'hung' when it has not after `ms` of real time. */
function within(p: Promise<unknown>, ms: number): Promise<'done' | 'hung'> {
  return Promise.race([p.then(() => 'done' as const), new Promise<'hung'>((r) => setTimeout(() => r('hung'), ms))]);
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

const abortAt = (ac: AbortController, bytes: number) => (ev: DownloadProgress) => {
  if (ev.file === PATH && ev.loaded >= bytes) ac.abort();
};

const range = (i: number) => (i === 4 ? `bytes=${4 * CHUNK}-` : `bytes=${i * CHUNK}-${(i + 1) * CHUNK - 1}`);

afterEach(() => {
  vi.useRealTimers();
});

describe('a cancelled download started again in the same store', () => {
  it('settles even when the body read ignores the abort, and the next call resumes from the stored chunks', async () => {
    const store = new MemoryStore();
    const first = rangeServer((n) => n === 1);
    const ac = new AbortController();
    const err = await rejection(downloadModel(entry, opts(store, first.fetchImpl, { signal: ac.signal, onProgress: abortAt(ac, 2 * CHUNK) })));
    expect(isAbortError(err)).toBe(true);
    expect(first.ranges).toEqual([range(0), range(1)]);

    const second = rangeServer();
    const events: DownloadProgress[] = [];
    const again = downloadModel(entry, opts(store, second.fetchImpl, { onProgress: (ev) => events.push(ev) }));
    expect(await within(again, 2000)).toBe('done');
    expect(new Uint8Array(await store.readFile(entry.id, PATH))).toEqual(data);
    expect(second.ranges).toEqual([range(1), range(2), range(3), range(4)]);
    expect(events[0]).toMatchObject({ status: 'initiate', loaded: CHUNK });
    expect((await again).bytesFetched).toBe(data.length - CHUNK);
  });

  it('waits for the cancelled transfer to save the chunk it had received, then resumes after it', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const ac = new AbortController();
    const store = new MemoryStore();
    const write = store.writeChunk.bind(store);
    store.writeChunk = async (id, path, index, bytes) => {
      if (index === 1 && !ac.signal.aborted) {
        ac.abort(); // cancelled while this chunk is being saved
        await gate;
      }
      return write(id, path, index, bytes);
    };
    const first = rangeServer();
    expect(isAbortError(await rejection(downloadModel(entry, opts(store, first.fetchImpl, { signal: ac.signal }))))).toBe(true);

    const second = rangeServer();
    const again = downloadModel(entry, opts(store, second.fetchImpl));
    await vi.advanceTimersByTimeAsync(DRAIN_WAIT_MS / 2);
    expect(second.ranges).toEqual([]);
    release();
    await again;
    expect(new Uint8Array(await store.readFile(entry.id, PATH))).toEqual(data);
    // Chunk 1 had come whole before the cancel: it was saved and recorded, and is not fetched again.
    expect(first.ranges).toEqual([range(0), range(1)]);
    expect(second.ranges).toEqual([range(2), range(3), range(4)]);
  });

  it('starts anyway after DRAIN_WAIT_MS when the cancelled transfer stays stuck in the store', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const ac = new AbortController();
    const store = new MemoryStore();
    const write = store.writeChunk.bind(store);
    store.writeChunk = async (id, path, index, bytes) => {
      if (index === 1 && !ac.signal.aborted) {
        ac.abort();
        await gate;
      }
      return write(id, path, index, bytes);
    };
    const first = rangeServer();
    expect(isAbortError(await rejection(downloadModel(entry, opts(store, first.fetchImpl, { signal: ac.signal }))))).toBe(true);

    const second = rangeServer();
    const again = downloadModel(entry, opts(store, second.fetchImpl));
    await vi.advanceTimersByTimeAsync(DRAIN_WAIT_MS - 1);
    expect(second.ranges).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    await again;
    expect(new Uint8Array(await store.readFile(entry.id, PATH))).toEqual(data);
    expect(second.ranges).toEqual([range(1), range(2), range(3), range(4)]);
    // The stuck write ends at last: the cancelled transfer, superseded, records nothing over the finished file.
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(new Uint8Array(await store.readFile(entry.id, PATH))).toEqual(data);
    expect((await store.readManifest(entry.id, PATH))?.complete).toBe(true);
  });

  it('a caller that cancels while waiting for the cancelled transfer to wind down gets its AbortError', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const ac = new AbortController();
    const store = new MemoryStore();
    const write = store.writeChunk.bind(store);
    store.writeChunk = async (id, path, index, bytes) => {
      if (index === 1 && !ac.signal.aborted) {
        ac.abort();
        await new Promise(() => {}); // never ends
      }
      return write(id, path, index, bytes);
    };
    expect(isAbortError(await rejection(downloadModel(entry, opts(store, rangeServer().fetchImpl, { signal: ac.signal }))))).toBe(true);
    const ac2 = new AbortController();
    const second = rangeServer();
    const again = downloadModel(entry, opts(store, second.fetchImpl, { signal: ac2.signal }));
    await vi.advanceTimersByTimeAsync(100);
    ac2.abort();
    expect(isAbortError(await rejection(again))).toBe(true);
    await vi.advanceTimersByTimeAsync(DRAIN_WAIT_MS);
    expect(second.ranges).toEqual([]);
  });
});
