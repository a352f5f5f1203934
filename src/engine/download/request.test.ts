// The downloader against a scripted fetch: each test answers requests the way one real-hub behaviour does (a CDN
// that hides Content-Range, a redirect, HEAD without a length, a file that changes between chunks, dropped and
// stalled connections, a web page instead of the file, a full storage). downloadModel.test.ts runs the same
// behaviours end to end against the stand-in hub (e2e/hub/server.mjs).
import { testCatalogEntry } from '../../../tests/catalogEntry';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CatalogEntry, CatalogFile } from '../catalog/schema';
import { DownloadError } from '../errors';
import { downloadModel, type DownloadOptions } from './downloadModel';
import { MemoryStore } from './memoryStore';
import { MAX_CHANGE_RESTARTS } from './transfer';

const CHUNK = 16;
const URL_BASE = 'https://hub.test/o/m/resolve/main/';
const CDN = 'https://cdn.test/blob/';

interface Call {
  url: string;
  method: string;
  range: [number, number] | null;
  /** 0-based index of this call among all calls. */
  n: number;
  /** `bytes=N-` (to the end of the file). */
  openEnded: boolean;
}

type Handler = (call: Call, signal: AbortSignal | undefined) => Response | Promise<Response>;

/** A fetch that records each call and answers through `handler`. */
function scripted(handler: Handler): { fetch: typeof fetch; calls: Call[] } {
  const calls: Call[] = [];
  const fetchImpl = (async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    const m = /^bytes=(\d+)-(\d*)$/.exec(headers.get('range') ?? '');
    const call: Call = {
      url: String(input),
      method: init.method ?? 'GET',
      range: m ? [Number(m[1]), m[2] === '' ? Infinity : Number(m[2])] : null,
      n: calls.length,
      openEnded: m?.[2] === '',
    };
    calls.push(call);
    init.signal?.throwIfAborted();
    return handler(call, init.signal ?? undefined);
  }) as typeof fetch;
  return { fetch: fetchImpl, calls };
}

/** Make a Response look like the end of a followed redirect (fetch sets these; the constructor cannot). */
function redirectedTo(res: Response, url: string): Response {
  Object.defineProperty(res, 'url', { value: url });
  Object.defineProperty(res, 'redirected', { value: true });
  return res;
}

interface Serve {
  /** 'exposed' (default): `bytes a-b/total`; 'hidden': no header (a CDN that does not expose it to pages); or a raw value. */
  contentRange?: 'exposed' | 'hidden' | string;
  etag?: string | null;
  /** HEAD carries Content-Length (default true). */
  headLength?: boolean;
  contentType?: string;
}

/** How a well-behaved server answers `call` for `bytes`, shaped by `opt`. */
function serve(bytes: Uint8Array, call: Call, opt: Serve = {}): Response {
  const h = new Headers({ 'content-type': opt.contentType ?? 'application/octet-stream' });
  if (opt.etag !== null) h.set('etag', opt.etag ?? '"v1"');
  if (call.method === 'HEAD') {
    if (opt.headLength !== false) h.set('content-length', String(bytes.length));
    return new Response(null, { status: 200, headers: h });
  }
  if (!call.range) {
    h.set('content-length', String(bytes.length));
    return new Response(bytes.slice(), { status: 200, headers: h });
  }
  const [a, b0] = call.range;
  const b = Math.min(b0, bytes.length - 1);
  const body = bytes.slice(a, b + 1);
  h.set('content-length', String(body.length));
  const cr = opt.contentRange ?? 'exposed';
  if (cr === 'exposed') h.set('content-range', `bytes ${a}-${b}/${bytes.length}`);
  else if (cr !== 'hidden') h.set('content-range', cr);
  return new Response(body, { status: 206, headers: h });
}

function entry(files: CatalogFile[]): CatalogEntry {
  return testCatalogEntry({ id: 'mock-model', name: 'Mock model', source: { type: 'hf', repo: 'o/m', revision: 'main' }, files });
}

function opts(fetchImpl: typeof fetch, store = new MemoryStore(), more: Partial<DownloadOptions> = {}): DownloadOptions {
  return { store, fetchImpl, hubBase: 'https://hub.test', chunkSize: CHUNK, backoffMs: 1, progressIntervalMs: 0, storage: null, ...more };
}

async function stored(store: MemoryStore, path: string, id = 'mock-model'): Promise<Uint8Array> {
  return new Uint8Array(await store.readFile(id, path));
}

async function failure(p: Promise<unknown>): Promise<DownloadError> {
  try {
    await p;
  } catch (e) {
    return e as DownloadError;
  }
  throw new Error('expected a rejection');
}

const data = new Uint8Array(randomBytes(3 * CHUNK + 5)); // 4 chunks, the last one short

describe('206 without a readable Content-Range', () => {
  it('is accepted when the body is exactly the range asked for (header hidden by CORS, or unparseable)', async () => {
    for (const contentRange of ['hidden', 'octets 0-15 of 53', 'bytes 0-15']) {
      const { fetch, calls } = scripted((c) => serve(data, c, { contentRange }));
      const store = new MemoryStore();
      await downloadModel(entry([{ path: 'unet/model.onnx', size: data.length }]), opts(fetch, store));
      expect(await stored(store, 'unet/model.onnx'), contentRange).toEqual(data);
      expect(calls.map((c) => c.range)).toEqual([[0, 15], [16, 31], [32, 47], [48, Infinity]]); // the last one open-ended
    }
  });

  it('is a size-mismatch when its length differs from the range (and says why the length is all it has)', async () => {
    const { fetch } = scripted((c) => {
      const r = serve(data, c, { contentRange: 'hidden' });
      // A server that sent 8 bytes less than asked, without saying which.
      return c.range ? new Response(data.slice(c.range[0], c.range[0] + 8), { status: 206, headers: { 'content-length': '8' } }) : r;
    });
    const err = await failure(downloadModel(entry([{ path: 'unet/model.onnx', size: data.length }]), opts(fetch)));
    expect(err).toBeInstanceOf(DownloadError);
    expect(err.reason).toBe('size-mismatch');
    expect(err.message).toMatch(/Wrong Content-Length for unet\/model.onnx: 8 bytes for bytes 0-15, expected 16 .*no readable Content-Range/);
  });

  it('a server copy longer than expected shows in the open-ended last chunk, with no header giving the total', async () => {
    const longer = new Uint8Array(randomBytes(data.length + 9));
    const { fetch, calls } = scripted((c) => serve(longer, c, { contentRange: 'hidden' }));
    const err = await failure(downloadModel(entry([{ path: 'unet/model.onnx', size: data.length }]), opts(fetch)));
    expect(calls.at(-1)).toMatchObject({ range: [48, Infinity], openEnded: true });
    expect(err.reason).toBe('size-mismatch');
    expect(err.message).toMatch(/^Wrong size for unet\/model.onnx: the server's copy ends at byte 62, expected 53/);
  });

  it('a readable Content-Range for other bytes is still an error', async () => {
    const { fetch } = scripted((c) => serve(data, c, { contentRange: 'bytes 16-31/53' }));
    const err = await failure(downloadModel(entry([{ path: 'unet/model.onnx', size: data.length }]), opts(fetch)));
    expect(err.message).toMatch(/Unexpected Content-Range "bytes 16-31\/53" for unet\/model.onnx, asked for bytes 0-15/);
  });
});

describe('redirects (huggingface.co sends LFS files to a CDN on another host)', () => {
  it('takes size and ETag from the redirected (final) response, and keeps them consistent across chunks', async () => {
    const { fetch, calls } = scripted((c) =>
      redirectedTo(serve(data, c, { etag: '"cdn-object"', contentRange: 'hidden' }), `${CDN}${c.url.slice(URL_BASE.length)}?sig=${c.n}`),
    );
    const store = new MemoryStore();
    const r = await downloadModel(entry([{ path: 'unet/model.onnx', size: null }]), opts(fetch, store));
    expect(r.files).toEqual([{ path: 'unet/model.onnx', size: data.length, cached: false }]);
    expect(await stored(store, 'unet/model.onnx')).toEqual(data);
    expect(calls[0]).toMatchObject({ method: 'HEAD', url: `${URL_BASE}unet/model.onnx` });
    expect((await store.readManifest('mock-model', 'unet/model.onnx'))!.etag).toBe('"cdn-object"');
  });
});

describe('size probe when HEAD has no Content-Length', () => {
  const file = { path: 'unet/model.onnx', size: null };

  it('falls back to a 1-byte Range request and its Content-Range total', async () => {
    const { fetch, calls } = scripted((c) => serve(data, c, { headLength: false }));
    const store = new MemoryStore();
    await downloadModel(entry([file]), opts(fetch, store));
    expect(calls.slice(0, 2).map((c) => [c.method, c.range])).toEqual([['HEAD', null], ['GET', [0, 0]]]);
    expect(await stored(store, 'unet/model.onnx')).toEqual(data);
  });

  it('with Content-Range hidden too: the Content-Length of a plain GET whose body is not read', async () => {
    let cancelled = false;
    const { fetch, calls } = scripted((c) => {
      if (c.method === 'GET' && !c.range) {
        const body = new ReadableStream<Uint8Array>({ pull: (ctl) => ctl.enqueue(data), cancel: () => void (cancelled = true) });
        return new Response(body, { status: 200, headers: { 'content-length': String(data.length) } });
      }
      return serve(data, c, { headLength: false, contentRange: 'hidden' });
    });
    const store = new MemoryStore();
    await downloadModel(entry([file]), opts(fetch, store));
    expect(calls.slice(0, 3).map((c) => [c.method, c.range])).toEqual([['HEAD', null], ['GET', [0, 0]], ['GET', null]]);
    expect(cancelled).toBe(true);
    expect(await stored(store, 'unet/model.onnx')).toEqual(data);
  });

  it('uses the catalog size when HEAD confirms the file but gives no length (optional file)', async () => {
    const { fetch, calls } = scripted((c) => serve(data, c, { headLength: false, contentRange: 'hidden' }));
    const store = new MemoryStore();
    await downloadModel(entry([{ path: 'unet/model.onnx_data', size: data.length, optional: true }]), opts(fetch, store));
    expect(calls[0].method).toBe('HEAD');
    expect(calls.slice(1).map((c) => c.range)).toEqual([[0, 15], [16, 31], [32, 47], [48, Infinity]]);
    expect(await stored(store, 'unet/model.onnx_data')).toEqual(data);
  });

  it('asks for "size" in the catalog when nothing tells it', async () => {
    const { fetch } = scripted((c) => {
      if (c.method === 'GET' && !c.range) return new Response(data.slice(), { status: 200, headers: { 'content-encoding': 'gzip' } });
      return serve(data, c, { headLength: false, contentRange: 'hidden' });
    });
    const err = await failure(downloadModel(entry([file]), opts(fetch)));
    expect(err.reason).toBe('http');
    expect(err.message).toMatch(/did not report the size of unet\/model.onnx at https:\/\/hub\.test\/.*; add "size" to the catalog entry/);
  });
});

describe('a file that changes on the server (ETag) between chunks', () => {
  const v2 = new Uint8Array(randomBytes(data.length));

  it('starts the file over from its first chunk and ends with the new version', async () => {
    const { fetch, calls } = scripted((c) => (c.n < 2 ? serve(data, c, { etag: '"v1"' }) : serve(v2, c, { etag: '"v2"' })));
    const store = new MemoryStore();
    await downloadModel(entry([{ path: 'unet/model.onnx', size: data.length }]), opts(fetch, store));
    expect(await stored(store, 'unet/model.onnx')).toEqual(v2);
    // chunks 0, 1 (v1), then chunk 2 answers "v2": everything again from 0
    expect(calls.map((c) => c.range![0])).toEqual([0, 16, 32, 0, 16, 32, 48]);
    expect((await store.readManifest('mock-model', 'unet/model.onnx'))!.etag).toBe('"v2"');
  });

  it('a resumed download whose stored chunks came from another version starts over', async () => {
    const store = new MemoryStore();
    const first = scripted((c) => serve(data, c, { etag: '"v1"' }));
    const ac = new AbortController();
    await failure(downloadModel(entry([{ path: 'unet/model.onnx', size: data.length }]), opts(first.fetch, store, {
      signal: ac.signal,
      onProgress: (p) => p.loaded > 2 * CHUNK && ac.abort(),
    })));
    expect((await store.readManifest('mock-model', 'unet/model.onnx'))!.done.length).toBeGreaterThanOrEqual(2);
    const second = scripted((c) => serve(v2, c, { etag: '"v2"' }));
    await downloadModel(entry([{ path: 'unet/model.onnx', size: data.length }]), opts(second.fetch, store));
    expect(await stored(store, 'unet/model.onnx')).toEqual(v2);
  });

  it('a change of size is a size-mismatch saying the file changed; the partial copy is deleted', async () => {
    const longer = new Uint8Array(randomBytes(data.length + 7));
    const { fetch } = scripted((c) => (c.n < 1 ? serve(data, c, { etag: '"v1"' }) : serve(longer, c, { etag: '"v2"' })));
    const store = new MemoryStore();
    const err = await failure(downloadModel(entry([{ path: 'unet/model.onnx', size: null }]), opts(fetch, store)));
    expect(err.reason).toBe('size-mismatch');
    expect(err.message).toMatch(/unet\/model.onnx changed on the server during the download \(ETag "v1" -> "v2"\) and is now 60 bytes, not 53 .*download again/);
    expect(await store.readManifest('mock-model', 'unet/model.onnx')).toBeNull();
  });

  it('gives up when it keeps changing', async () => {
    const { fetch } = scripted((c) => serve(data, c, { etag: `"v${c.n}"` }));
    const err = await failure(downloadModel(entry([{ path: 'unet/model.onnx', size: data.length }]), opts(fetch)));
    expect(err.message).toMatch(new RegExp(`unet/model.onnx keeps changing on the server \\(ETag changed ${MAX_CHANGE_RESTARTS + 1} times`));
  });

  it('weak and strong forms of one ETag are the same version', async () => {
    const { fetch } = scripted((c) => serve(data, c, { etag: c.method === 'HEAD' ? 'W/"v1"' : '"v1"' }));
    const store = new MemoryStore();
    await downloadModel(entry([{ path: 'unet/model.onnx', size: null }]), opts(fetch, store));
    expect(await stored(store, 'unet/model.onnx')).toEqual(data);
  });
});

describe('dropped and stalled connections', () => {
  it('retries a refused connection with exponential backoff', async () => {
    const { fetch, calls } = scripted((c) => {
      if (c.n < 3) throw new TypeError('fetch failed');
      return serve(data, c);
    });
    const t0 = performance.now();
    const store = new MemoryStore();
    await downloadModel(entry([{ path: 'unet/model.onnx', size: data.length }]), opts(fetch, store, { backoffMs: 20 }));
    expect(performance.now() - t0).toBeGreaterThanOrEqual(20 + 40 + 80 - 5);
    expect(calls.slice(0, 4).map((c) => c.range![0])).toEqual([0, 0, 0, 0]);
    expect(await stored(store, 'unet/model.onnx')).toEqual(data);
  });

  it('retries a connection dropped in the middle of a body, and only that chunk', async () => {
    const { fetch, calls } = scripted((c) => {
      if (c.n === 1) {
        const body = new ReadableStream<Uint8Array>({
          start(ctl) {
            ctl.enqueue(data.slice(16, 20));
            ctl.error(new TypeError('terminated: other side closed'));
          },
        });
        return new Response(body, { status: 206, headers: { 'content-range': 'bytes 16-31/53', 'content-length': '16' } });
      }
      return serve(data, c);
    });
    const store = new MemoryStore();
    await downloadModel(entry([{ path: 'unet/model.onnx', size: data.length }]), opts(fetch, store));
    expect(calls.map((c) => c.range![0])).toEqual([0, 16, 16, 32, 48]);
    expect(await stored(store, 'unet/model.onnx')).toEqual(data);
  });

  it('drops a body that stops sending (stall watchdog) and retries it', async () => {
    const { fetch, calls } = scripted((c, signal) => {
      if (c.n === 0) {
        const body = new ReadableStream<Uint8Array>({
          start(ctl) {
            ctl.enqueue(data.slice(0, 4));
            signal?.addEventListener('abort', () => ctl.error(signal.reason));
          },
        });
        return new Response(body, { status: 206, headers: { 'content-range': 'bytes 0-15/53', 'content-length': '16' } });
      }
      return serve(data, c);
    });
    const store = new MemoryStore();
    await downloadModel(entry([{ path: 'unet/model.onnx', size: data.length }]), opts(fetch, store, { stallTimeoutMs: 50 }));
    expect(calls.map((c) => c.range![0])).toEqual([0, 0, 16, 32, 48]);
    expect(await stored(store, 'unet/model.onnx')).toEqual(data);
  });

  it('a server that never answers ends with a network error naming the file, after the retries', async () => {
    const { fetch, calls } = scripted((_c, signal) => new Promise<Response>((_r, reject) => signal?.addEventListener('abort', () => reject(signal.reason))));
    const err = await failure(downloadModel(entry([{ path: 'unet/model.onnx', size: data.length }]), opts(fetch, new MemoryStore(), { stallTimeoutMs: 20, maxRetries: 2 })));
    expect(err.reason).toBe('network');
    expect(err.message).toMatch(/^No response for unet\/model.onnx from https:\/\/hub\.test\/o\/m\/resolve\/main\/unet\/model.onnx within 0.02 s \(the connection stalled\); gave up after 3 attempts/);
    expect(calls).toHaveLength(3);
  });

  afterEach(() => vi.unstubAllGlobals());

  it('a fetch the browser refuses (CORS, CSP) is a network error that says so; outside a browser it does not guess', async () => {
    const { fetch } = scripted(() => {
      throw new TypeError('Failed to fetch');
    });
    vi.stubGlobal('location', new URL('http://localhost:5173/'));
    const err = await failure(downloadModel(entry([{ path: 'unet/model.onnx', size: data.length }]), opts(fetch, new MemoryStore(), { maxRetries: 1 })));
    expect(err.reason).toBe('network');
    expect(err.message).toMatch(/Network error fetching unet\/model.onnx from https:\/\/hub.test\/.*: Failed to fetch \(.*may not allow this page to read it \(CORS\).*Content-Security-Policy\); gave up after 2 attempts/);
    vi.unstubAllGlobals();
    const node = await failure(downloadModel(entry([{ path: 'unet/model.onnx', size: data.length }]), opts(fetch, new MemoryStore(), { maxRetries: 0 })));
    expect(node.message).toMatch(/: Failed to fetch; gave up after 1 attempts$/);
  });
});

describe('a web page instead of the file', () => {
  const page = () => new Response('<!doctype html><html><body>Sign in</body></html>', { status: 200, headers: { 'content-type': 'text/html; charset=utf-8' } });

  it('is a not-found error naming the file and the URL, for a GET of a known-size file', async () => {
    const { fetch } = scripted(() => redirectedTo(page(), 'https://hub.test/login'));
    const err = await failure(downloadModel(entry([{ path: 'unet/model.onnx', size: data.length }]), opts(fetch)));
    expect(err.code).toBe('MODEL_FILE_MISSING');
    expect(err.reason).toBe('not-found');
    expect(err.file).toBe('unet/model.onnx');
    expect(err.message).toMatch(
      /^The server answered with a web page \(text\/html\) instead of unet\/model.onnx at https:\/\/hub.test\/o\/m\/resolve\/main\/unet\/model.onnx \(redirected to https:\/\/hub.test\/login\): the file is not at that address/,
    );
  });

  it('is found by the HEAD probe before any byte is stored; an optional file answering a page is skipped', async () => {
    const { fetch, calls } = scripted(() => page());
    const store = new MemoryStore();
    const err = await failure(downloadModel(entry([{ path: 'unet/model.onnx', size: null }]), opts(fetch, store)));
    expect(err.message).toMatch(/web page \(text\/html\) instead of unet\/model.onnx/);
    expect(calls.map((c) => c.method)).toEqual(['HEAD']);

    const r = await downloadModel(entry([{ path: 'unet/model.onnx_data', size: null, optional: true }]), opts(scripted(() => page()).fetch, store));
    expect(r.skipped).toEqual(['unet/model.onnx_data']);
  });
});

describe('storage full in the middle of a download', () => {
  it('is a quota error naming the file; the chunks stored before stay and a retry resumes', async () => {
    class FillingStore extends MemoryStore {
      writes = 0;
      limit = 2;
      override async writeChunk(modelId: string, path: string, index: number, d: Uint8Array): Promise<void> {
        if (++this.writes > this.limit) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
        return super.writeChunk(modelId, path, index, d);
      }
    }
    const store = new FillingStore();
    const e = entry([{ path: 'unet/model.onnx', size: data.length }]);
    const err = await failure(downloadModel(e, opts(scripted((c) => serve(data, c)).fetch, store)));
    expect(err.code).toBe('STORAGE');
    expect(err.reason).toBe('quota');
    expect(err.message).toMatch(/^Storage is full: could not save chunk 2 of unet\/model.onnx\. What was downloaded so far is kept/);
    expect((await store.readManifest(e.id, 'unet/model.onnx'))!.done).toEqual([0, 1]);

    store.limit = Infinity;
    const again = scripted((c) => serve(data, c));
    await downloadModel(e, opts(again.fetch, store));
    expect(again.calls.map((c) => c.range![0])).toEqual([32, 48]);
    expect(await stored(store, 'unet/model.onnx')).toEqual(data);
  });
});
