// Download manager against the real stand-in hub (e2e/hub/server.mjs) on an ephemeral port, with the memory store.
import { testCatalogEntry } from '../../../tests/catalogEntry';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { browserFetch } from '../../../e2e/hub/browserFetch.mjs';
import { startHub, type Hub } from '../../../e2e/hub/server.mjs';
import type { CatalogEntry, CatalogFile } from '../catalog/schema';
import { DownloadError } from '../errors';
import { downloadModel, isModelStored, type DownloadOptions } from './downloadModel';
import { isAbortError } from './abort';
import { MemoryStore } from './memoryStore';
import type { DownloadProgress } from './progress';

const CHUNK = 16 * 1024;
const REPO = 'test/model';
let root: string;
let hub: Hub;
const content = new Map<string, Buffer>();

function put(repoPath: string, data: Buffer): void {
  const p = join(root, repoPath);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, data);
  content.set(repoPath, data);
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'fewstep-hub-'));
  put(`${REPO}/model_index.json`, Buffer.from('{"_class_name":"StableDiffusionPipeline"}'));
  put(`${REPO}/unet/model.onnx`, randomBytes(7 * CHUNK + 123)); // 8 chunks, the last one short
  put(`${REPO}/unet/model.v2.onnx`, randomBytes(7 * CHUNK + 123)); // a new upload of the same size (swapTo)
  put(`${REPO}/vae_decoder/model.onnx`, randomBytes(2 * CHUNK)); // exactly 2 chunks
  put(`${REPO}/empty.bin`, Buffer.alloc(0));
  put('tok/enizer/tokenizer.json', Buffer.from('{"model":{}}'));
  hub = await startHub({ root });
});

afterAll(async () => {
  await hub?.close();
  rmSync(root, { recursive: true, force: true });
});

beforeEach(() => {
  hub.clearFaults();
  hub.clearLog();
});

function file(path: string, extra: Partial<CatalogFile> = {}): CatalogFile {
  return { path, size: content.get(`${REPO}/${path}`)?.length ?? null, ...extra };
}

function entry(files: CatalogFile[], over: Partial<CatalogEntry> = {}): CatalogEntry {
  return testCatalogEntry({ source: { type: 'hf', repo: REPO, revision: 'main' }, files, ...over });
}

const basic = () => entry([file('model_index.json'), file('unet/model.onnx'), file('vae_decoder/model.onnx')]);

function opts(store: MemoryStore, more: Partial<DownloadOptions> = {}): DownloadOptions {
  return { store, hubBase: hub.url, chunkSize: CHUNK, backoffMs: 5, progressIntervalMs: 0, storage: null, ...more };
}

async function expectStored(store: MemoryStore, e: CatalogEntry): Promise<void> {
  for (const f of e.files) {
    const got = new Uint8Array(await store.readFile(e.id, f.path));
    expect(sha(got), f.path).toBe(sha(content.get(`${REPO}/${f.path}`)!));
  }
}

async function catchError(p: Promise<unknown>): Promise<DownloadError> {
  try {
    await p;
  } catch (err) {
    return err as DownloadError;
  }
  throw new Error('expected a rejection');
}

/** Check the progress invariants: fixed totals, monotonic loaded, initiate -> done per file, 100% at the end. */
function checkProgress(events: DownloadProgress[], expectedTotal: number): void {
  expect(events.length).toBeGreaterThan(0);
  let prevOverall = -1;
  const lastLoaded = new Map<string, number>();
  const statuses = new Map<string, string[]>();
  for (const e of events) {
    expect(e.overall.total).toBe(expectedTotal);
    expect(e.overall.loaded).toBeGreaterThanOrEqual(prevOverall);
    prevOverall = e.overall.loaded;
    expect(e.loaded).toBeGreaterThanOrEqual(lastLoaded.get(e.file) ?? 0);
    expect(e.loaded).toBeLessThanOrEqual(e.total);
    lastLoaded.set(e.file, e.loaded);
    statuses.set(e.file, [...(statuses.get(e.file) ?? []), e.status]);
    expect(e.percent).toBeGreaterThanOrEqual(0);
    expect(e.percent).toBeLessThanOrEqual(100);
  }
  for (const [f, s] of statuses) {
    if (s[0] === 'cached') expect(s, f).toEqual(['cached']);
    else {
      expect(s[0], f).toBe('initiate');
      expect(s[s.length - 1], f).toBe('done');
    }
  }
  const last = events[events.length - 1];
  expect(last.overall.loaded).toBe(expectedTotal);
  expect(last.overall.percent).toBe(100);
  expect(last.overall.etaSec).toBe(0);
}

const totalOf = (e: CatalogEntry) => e.files.reduce((s, f) => s + content.get(`${REPO}/${f.path}`)!.length, 0);

describe('downloadModel against the stand-in hub', () => {
  it('downloads every file in Range chunks, with monotonic progress reaching 100%', async () => {
    const store = new MemoryStore();
    const e = basic();
    const events: DownloadProgress[] = [];
    const result = await downloadModel(e, opts(store, { onProgress: (ev) => events.push(ev) }));
    await expectStored(store, e);
    checkProgress(events, totalOf(e));
    expect(result.bytesFetched).toBe(totalOf(e));
    expect(result.files.every((f) => !f.cached)).toBe(true);

    const unet = hub.log().filter((l) => l.key === `${REPO}/unet/model.onnx`);
    // Fixed chunks, the last one open-ended so that a longer server copy would show even without Content-Range.
    expect(unet.map((l) => l.range)).toEqual(Array.from({ length: 8 }, (_, i) => (i < 7 ? `bytes=${i * CHUNK}-${(i + 1) * CHUNK - 1}` : `bytes=${7 * CHUNK}-`)));
    expect(unet.every((l) => l.status === 206 && l.method === 'GET')).toBe(true);
    expect(hub.log().some((l) => l.method === 'HEAD')).toBe(false); // sizes came from the catalog

    expect(await isModelStored(e, store)).toBe(true);
    expect(await store.listModels()).toMatchObject([{ id: 'test-model', complete: true, bytes: totalOf(e) }]);
  });

  it('asks for unknown sizes with HEAD before the first byte, so the total is fixed from the first event', async () => {
    const store = new MemoryStore();
    const e = entry([{ path: 'unet/model.onnx', size: null }, { path: 'vae_decoder/model.onnx', size: null }, { path: 'empty.bin', size: null }]);
    const events: DownloadProgress[] = [];
    await downloadModel(e, opts(store, { onProgress: (ev) => events.push(ev) }));
    checkProgress(events, totalOf(e));
    const log = hub.log();
    const firstGet = log.findIndex((l) => l.method === 'GET');
    expect(log.slice(0, firstGet).map((l) => l.method)).toEqual(['HEAD', 'HEAD', 'HEAD']);
    expect(new Uint8Array(await store.readFile(e.id, 'empty.bin')).length).toBe(0);
  });

  it('a second call (a reload) uses the store without any request', async () => {
    const store = new MemoryStore();
    const e = basic();
    await downloadModel(e, opts(store));
    hub.clearLog();
    const events: DownloadProgress[] = [];
    const result = await downloadModel(e, opts(store, { onProgress: (ev) => events.push(ev) }));
    expect(hub.log()).toEqual([]);
    expect(events.map((ev) => ev.status)).toEqual(['cached', 'cached', 'cached']);
    checkProgress(events, totalOf(e));
    expect(result.bytesFetched).toBe(0);
    expect(result.files.every((f) => f.cached)).toBe(true);
  });

  it('resumes after an interruption without re-downloading finished chunks', async () => {
    const store = new MemoryStore();
    const e = basic();
    hub.setFault(`${REPO}/unet/model.onnx`, { throttle: 64 * 1024 }); // ~4 chunks per second
    const ac = new AbortController();
    const events1: DownloadProgress[] = [];
    const err = await catchError(
      downloadModel(e, opts(store, {
        signal: ac.signal,
        onProgress: (ev) => {
          events1.push(ev);
          if (ev.file === 'unet/model.onnx' && ev.loaded >= 3 * CHUNK + 100) ac.abort();
        },
      })),
    );
    expect(isAbortError(err)).toBe(true);
    const manifest = (await store.readManifest(e.id, 'unet/model.onnx'))!;
    expect(manifest.done.length).toBeGreaterThanOrEqual(3);
    expect(manifest.complete).toBe(false);
    const finished = new Set(manifest.done);

    hub.clearFaults();
    hub.clearLog();
    const events2: DownloadProgress[] = [];
    await downloadModel(e, opts(store, { onProgress: (ev) => events2.push(ev) }));
    await expectStored(store, e);
    checkProgress(events2, totalOf(e));

    const unet = hub.log().filter((l) => l.key === `${REPO}/unet/model.onnx`);
    const requested = unet.map((l) => Number(/bytes=(\d+)-/.exec(l.range!)![1]) / CHUNK);
    expect(requested.filter((i) => finished.has(i))).toEqual([]);
    expect(unet.reduce((s, l) => s + l.bytes, 0)).toBe(7 * CHUNK + 123 - manifest.done.length * CHUNK);
    // The resumed file starts where it stopped, not at zero.
    const init = events2.find((ev) => ev.file === 'unet/model.onnx' && ev.status === 'initiate')!;
    expect(init.loaded).toBe(manifest.done.length * CHUNK);
    // model_index.json finished in the first run: cached, not fetched again.
    expect(hub.log().some((l) => l.key === `${REPO}/model_index.json`)).toBe(false);
  });

  it('retries a 500 with backoff and succeeds', async () => {
    const store = new MemoryStore();
    const e = basic();
    hub.setFault(`${REPO}/vae_decoder/model.onnx`, { status: 500, times: 2 });
    await downloadModel(e, opts(store));
    await expectStored(store, e);
    const vae = hub.log().filter((l) => l.key === `${REPO}/vae_decoder/model.onnx`);
    expect(vae.map((l) => l.status)).toEqual([500, 500, 206, 206]);
  });

  it('gives up on a persistent 5xx with a network error naming file, URL and attempts', async () => {
    const store = new MemoryStore();
    hub.setFault(`${REPO}/vae_decoder/model.onnx`, { status: 503 });
    const err = await catchError(downloadModel(basic(), opts(store, { maxRetries: 2 })));
    expect(err).toBeInstanceOf(DownloadError);
    expect(err.code).toBe('NETWORK');
    expect(err.reason).toBe('network');
    expect(err.message).toMatch(/Server error HTTP 503 for vae_decoder\/model.onnx at http:\/\/127\.0\.0\.1:\d+\/test\/model\/resolve\/main\/vae_decoder\/model.onnx; gave up after 3 attempts/);
    expect(hub.log().filter((l) => l.key === `${REPO}/vae_decoder/model.onnx`)).toHaveLength(3);
  });

  it('does not retry a 404 and names the URL and the file', async () => {
    const store = new MemoryStore();
    const e = entry([file('model_index.json'), { path: 'unet/missing.onnx', size: 10 }]);
    const err = await catchError(downloadModel(e, opts(store)));
    expect(err.code).toBe('MODEL_FILE_MISSING');
    expect(err.reason).toBe('not-found');
    expect(err.message).toMatch(/^unet\/missing.onnx not found \(HTTP 404\) at http:\/\/127\.0\.0\.1:\d+\/test\/model\/resolve\/main\/unet\/missing.onnx/);
    expect(err.details).toMatchObject({ file: 'unet/missing.onnx', status: 404 });
    expect(hub.log().filter((l) => l.key === `${REPO}/unet/missing.onnx`)).toHaveLength(1);
  });

  it('skips an optional file the server does not have', async () => {
    const store = new MemoryStore();
    const e = entry([file('model_index.json'), { path: 'unet/model.onnx_data', size: null, optional: true }]);
    const result = await downloadModel(e, opts(store));
    expect(result.skipped).toEqual(['unet/model.onnx_data']);
    expect(result.files.map((f) => f.path)).toEqual(['model_index.json']);
  });

  it('reports a truncated body after retries, and recovers when it happens once', async () => {
    const store = new MemoryStore();
    hub.setFault(`${REPO}/vae_decoder/model.onnx`, { truncate: 1000 });
    const err = await catchError(downloadModel(basic(), opts(store, { maxRetries: 1 })));
    expect(err.code).toBe('MODEL_FILE_CORRUPT');
    expect(err.reason).toBe('truncated');
    expect(err.message).toMatch(/Truncated response for vae_decoder\/model.onnx: received 1000 of 16384 bytes \(bytes 0-16383\) from http:.*; gave up after 2 attempts/);

    hub.clearFaults();
    hub.setFault(`${REPO}/unet/model.onnx`, { closeAfter: 5000, times: 1 });
    const e = basic();
    await downloadModel(e, opts(store));
    await expectStored(store, e);
  });

  it('rejects a server size that differs from the catalog (size-mismatch), from HEAD or from the chunk', async () => {
    const store = new MemoryStore();
    hub.setFault(`${REPO}/unet/model.onnx`, { reportSize: 999_999 });
    const err = await catchError(downloadModel(basic(), opts(store)));
    expect(err.code).toBe('MODEL_FILE_CORRUPT');
    expect(err.reason).toBe('size-mismatch');
    expect(err.message).toMatch(/Wrong size for unet\/model.onnx: the server reports 999999 bytes, expected 114811/);

    hub.clearFaults();
    hub.setFault(`${REPO}/unet/model.onnx`, { contentLength: 100 });
    const err2 = await catchError(downloadModel(basic(), opts(new MemoryStore())));
    expect(err2.code).toBe('MODEL_FILE_CORRUPT');
    expect(err2.reason).toBe('size-mismatch');
    expect(err2.message).toMatch(/Wrong Content-Length for unet\/model.onnx: 100 bytes for bytes 0-16383, expected 16384/);

    hub.clearFaults();
    hub.clearLog();
    hub.setFault(`${REPO}/unet/model.onnx`, { reportSize: 5 });
    // An optional file is probed with HEAD even when its size is known: the mismatch shows before any GET.
    const e = entry([file('unet/model.onnx', { optional: true })]);
    const err3 = await catchError(downloadModel(e, opts(new MemoryStore())));
    expect(err3.code).toBe('MODEL_FILE_CORRUPT');
    expect(err3.reason).toBe('size-mismatch');
    expect(err3.message).toMatch(/the server reports 5 bytes, the catalog expects 114811/);
    expect(hub.log().filter((l) => l.key === `${REPO}/unet/model.onnx`).map((l) => l.method)).toEqual(['HEAD']);
  });

  it('checks sha256 when the catalog has it: a mismatch is an integrity error and the copy is deleted', async () => {
    const store = new MemoryStore();
    const good = sha(content.get(`${REPO}/vae_decoder/model.onnx`)!);
    const e = entry([file('vae_decoder/model.onnx', { sha256: '0'.repeat(64) })]);
    const err = await catchError(downloadModel(e, opts(store)));
    expect(err.code).toBe('MODEL_FILE_CORRUPT');
    expect(err.reason).toBe('integrity');
    expect(err.message).toMatch(/Integrity check failed for vae_decoder\/model.onnx: sha256 [0-9a-f]{64} does not match the catalog's 0{64}/);
    expect(await store.readManifest(e.id, 'vae_decoder/model.onnx')).toBeNull();

    hub.setFault(`${REPO}/vae_decoder/model.onnx`, { corrupt: true, corruptAt: 20_000 });
    const e2 = entry([file('vae_decoder/model.onnx', { sha256: good })]);
    const err2 = await catchError(downloadModel(e2, opts(new MemoryStore())));
    expect(err2.code).toBe('MODEL_FILE_CORRUPT');
    expect(err2.reason).toBe('integrity');

    hub.clearFaults();
    const ok = await downloadModel(e2, opts(new MemoryStore()));
    expect(ok.files[0].sha256).toBe(good);
  });

  it('handles a server without Range support (200) by restarting the file from the full body', async () => {
    const store = new MemoryStore();
    const e = basic();
    hub.setFault(`${REPO}/unet/model.onnx`, { noRange: true });
    const events: DownloadProgress[] = [];
    await downloadModel(e, opts(store, { onProgress: (ev) => events.push(ev) }));
    await expectStored(store, e);
    checkProgress(events, totalOf(e));
    const unet = hub.log().filter((l) => l.key === `${REPO}/unet/model.onnx`);
    expect(unet.map((l) => l.status)).toEqual([200]);
  });

  it('refuses to start when the quota is too small, before any request', async () => {
    const store = new MemoryStore({ quota: 100 * 1024 * 1024, baseUsage: 100 * 1024 * 1024 - 50_000 });
    const err = await catchError(downloadModel(basic(), opts(store, { quotaMarginBytes: 0 })));
    expect(err.code).toBe('STORAGE');
    expect(err.reason).toBe('quota');
    expect(err.message).toMatch(/Not enough storage for Test model: it needs 14\d\.\d KiB more, but only 48\.8 KiB of the 100\.0 MiB quota is free/);
    expect(hub.log()).toEqual([]);
  });

  it('asks for persistent storage before downloading (best effort)', async () => {
    let asked = 0;
    const r = await downloadModel(basic(), opts(new MemoryStore(), { storage: { persist: async () => (asked++, true) } }));
    expect(asked).toBe(1);
    expect(r.persisted).toBe(true);
    const r2 = await downloadModel(basic(), opts(new MemoryStore(), { storage: { persist: async () => { throw new Error('nope'); } } }));
    expect(r2.persisted).toBeNull();
  });

  it('cancels with an AbortError, before and during the download', async () => {
    const ac = new AbortController();
    ac.abort();
    expect(isAbortError(await catchError(downloadModel(basic(), opts(new MemoryStore(), { signal: ac.signal }))))).toBe(true);
    expect(hub.log()).toEqual([]);

    hub.setFault(`${REPO}/*`, { delayMs: 200 });
    const ac2 = new AbortController();
    setTimeout(() => ac2.abort(), 50);
    const err = await catchError(downloadModel(basic(), opts(new MemoryStore(), { signal: ac2.signal })));
    expect(isAbortError(err)).toBe(true);
  });

  it('shares one transfer between concurrent downloads of the same model', async () => {
    const store = new MemoryStore();
    const e = basic();
    hub.setFault(`${REPO}/*`, { throttle: 256 * 1024 });
    const ev1: DownloadProgress[] = [];
    const ev2: DownloadProgress[] = [];
    await Promise.all([
      downloadModel(e, opts(store, { onProgress: (ev) => ev1.push(ev) })),
      downloadModel(e, opts(store, { onProgress: (ev) => ev2.push(ev) })),
    ]);
    await expectStored(store, e);
    checkProgress(ev1, totalOf(e));
    checkProgress(ev2, totalOf(e));
    const ranges = hub.log().filter((l) => l.method === 'GET').map((l) => `${l.key} ${l.range}`);
    expect(new Set(ranges).size).toBe(ranges.length);
    expect(ranges).toHaveLength(1 + 8 + 2);
  });

  it('keeps the transfer going while one of two callers cancels', async () => {
    const store = new MemoryStore();
    const e = basic();
    hub.setFault(`${REPO}/*`, { throttle: 256 * 1024 });
    const ac = new AbortController();
    const a = downloadModel(e, opts(store, { signal: ac.signal }));
    const b = downloadModel(e, opts(store));
    setTimeout(() => ac.abort(), 30);
    expect(isAbortError(await catchError(a))).toBe(true);
    await b;
    await expectStored(store, e);
  });

  it('a download cancelled after 2 chunks and started again in the same store resumes, sharing one transfer', async () => {
    const store = new MemoryStore();
    const e = basic();
    const unet = `${REPO}/unet/model.onnx`;
    hub.setFault(`${REPO}/*`, { throttle: 256 * 1024 });
    const ac = new AbortController();
    const first = downloadModel(e, opts(store, {
      signal: ac.signal,
      onProgress: (ev) => {
        if (ev.file === 'unet/model.onnx' && ev.loaded >= 2 * CHUNK) ac.abort();
      },
    }));
    expect(isAbortError(await catchError(first))).toBe(true);
    expect(hub.log().filter((l) => l.key === unet && l.method === 'GET').map((l) => l.range)).toEqual([`bytes=0-${CHUNK - 1}`, `bytes=${CHUNK}-${2 * CHUNK - 1}`]);
    hub.clearFaults();
    hub.clearLog();

    // Started again (twice at once, as a retry click and a second tab of the app would): it used to wait forever for
    // the cancelled transfer, right after its 'initiate' event.
    const ev1: DownloadProgress[] = [];
    const ev2: DownloadProgress[] = [];
    const again = Promise.all([
      downloadModel(e, opts(store, { onProgress: (ev) => ev1.push(ev) })),
      downloadModel(e, opts(store, { onProgress: (ev) => ev2.push(ev) })),
    ]);
    const outcome = await Promise.race([again.then(() => 'done'), new Promise((r) => setTimeout(() => r('hung'), 3000))]);
    expect(outcome).toBe('done');
    await expectStored(store, e);
    checkProgress(ev1, totalOf(e));
    checkProgress(ev2, totalOf(e));
    // Resumed: chunk 0, stored before the cancel, is not asked for again; and the two calls shared one transfer.
    const ranges = hub.log().filter((l) => l.key === unet && l.method === 'GET').map((l) => l.range);
    expect(ranges[0]).toMatch(new RegExp(`^bytes=(${CHUNK}|${2 * CHUNK})-`));
    expect(ranges).not.toContain(`bytes=0-${CHUNK - 1}`);
    expect(new Set(ranges).size).toBe(ranges.length);
    expect(ev1.find((ev) => ev.file === 'unet/model.onnx')).toMatchObject({ status: 'initiate' });
    expect(ev1.find((ev) => ev.file === 'unet/model.onnx')!.loaded).toBeGreaterThanOrEqual(CHUNK);
  });

  it('fetches a tokenizer from its own repo into tokenizer/', async () => {
    const store = new MemoryStore();
    const e = entry([file('model_index.json')], {
      tokenizer: { source: 'hf', repo: 'tok/enizer', revision: 'main', path: '', files: [{ path: 'tokenizer.json', size: null }], padTokenId: 0, maxLength: 77 },
    });
    await downloadModel(e, opts(store));
    expect(new TextDecoder().decode(await store.readFile(e.id, 'tokenizer/tokenizer.json'))).toBe('{"model":{}}');
  });

  it('follows hub redirects (huggingface.co sends LFS files to its CDN)', async () => {
    const redirecting = await startHub({ root, redirect: true });
    try {
      const store = new MemoryStore();
      const e = basic();
      await downloadModel(e, opts(store, { hubBase: redirecting.url }));
      await expectStored(store, e);
      expect(redirecting.log().some((l) => l.status === 302)).toBe(true);
    } finally {
      await redirecting.close();
    }
  });

  it('deleting a model removes it from storage', async () => {
    const store = new MemoryStore();
    const e = basic();
    await downloadModel(e, opts(store));
    await store.deleteModel(e.id);
    expect(await store.listModels()).toEqual([]);
    expect(await isModelStored(e, store)).toBe(false);
  });
});

describe('downloadModel against the stand-in hub behaving like huggingface.co', () => {
  // What a page sees: only CORS-safelisted headers and those the server exposes (browserFetch filters like Chromium).
  const page = browserFetch({ origin: 'http://localhost:5173' });
  const unetKey = `${REPO}/unet/model.onnx`;

  it('follows a 302 to a CDN on another origin that does not expose Content-Range or ETag to the page', async () => {
    const hub2 = await startHub({ root, redirect: 'cross-origin' });
    try {
      hub2.setFault(`${REPO}/*`, { exposeHeaders: ['Content-Length'] });
      const store = new MemoryStore();
      const e = entry([file('model_index.json'), { path: 'unet/model.onnx', size: null }, file('vae_decoder/model.onnx')]);
      await downloadModel(e, opts(store, { hubBase: hub2.url, fetchImpl: page }));
      await expectStored(store, e);
      const log = hub2.log();
      expect(log.filter((l) => l.origin === 'hub').every((l) => l.status === 302)).toBe(true);
      const cdnUnet = log.filter((l) => l.origin === 'cdn' && l.key === unetKey);
      // HEAD gave the size (Content-Length is safelisted), then 8 chunks whose Content-Range the page could not read.
      expect(cdnUnet.map((l) => l.method)).toEqual(['HEAD', ...Array(8).fill('GET')]);
      expect(cdnUnet.slice(1).every((l) => l.status === 206)).toBe(true);
      expect(new URL(hub2.cdnUrl).port).not.toBe(new URL(hub2.url).port);
    } finally {
      await hub2.close();
    }
  });

  it('a redirect to a host that does not allow the page (no CORS) ends with a network error that says so', async () => {
    vi.stubGlobal('location', new URL('http://localhost:5173/')); // the engine runs in a page's worker
    onTestFinished(() => {
      vi.unstubAllGlobals();
    });
    hub.setFault(unetKey, { redirect: 'cross-origin' });
    hub.setFault(unetKey, { noCors: true });
    const err = await catchError(downloadModel(entry([file('unet/model.onnx')]), opts(new MemoryStore(), { fetchImpl: page, maxRetries: 1 })));
    expect(err.code).toBe('NETWORK');
    expect(err.message).toMatch(/Network error fetching unet\/model.onnx from http:\/\/127\.0\.0\.1:\d+\/test\/model\/resolve\/main\/unet\/model.onnx: Failed to fetch .*\(CORS\)/);
    expect(hub.log().filter((l) => l.origin === 'cdn')).toHaveLength(2);
  });

  it('HEAD without Content-Length and a hidden Content-Range: the size comes from a plain GET, whose body is dropped', async () => {
    hub.setFault(unetKey, { headNoLength: true });
    hub.setFault(unetKey, { exposeHeaders: ['ETag'], methods: ['GET'] });
    const store = new MemoryStore();
    const e = entry([{ path: 'unet/model.onnx', size: null }]);
    const events: DownloadProgress[] = [];
    await downloadModel(e, opts(store, { fetchImpl: page, onProgress: (ev) => events.push(ev) }));
    expect(new Uint8Array(await store.readFile(e.id, 'unet/model.onnx'))).toEqual(new Uint8Array(content.get(unetKey)!));
    checkProgress(events, 7 * CHUNK + 123);
    const log = hub.log().filter((l) => l.key === unetKey);
    expect(log.slice(0, 3).map((l) => [l.method, l.range])).toEqual([['HEAD', null], ['GET', 'bytes=0-0'], ['GET', null]]);
    // The plain GET's body is cancelled, not stored: the file still comes in 8 Range requests.
    expect(log.slice(3).map((l) => l.range)).toEqual(Array.from({ length: 8 }, (_, i) => (i < 7 ? `bytes=${i * CHUNK}-${(i + 1) * CHUNK - 1}` : `bytes=${7 * CHUNK}-`)));
  });

  it('a file replaced on the server after 3 chunks (new ETag) starts over and ends with the new bytes', async () => {
    hub.setFault(unetKey, { swapTo: 'unet/model.v2.onnx', after: 3 });
    const store = new MemoryStore();
    const events: DownloadProgress[] = [];
    await downloadModel(basic(), opts(store, { onProgress: (ev) => events.push(ev) }));
    expect(sha(new Uint8Array(await store.readFile('test-model', 'unet/model.onnx')))).toBe(sha(content.get(`${REPO}/unet/model.v2.onnx`)!));
    const ranges = hub.log().filter((l) => l.key === unetKey).map((l) => Number(/bytes=(\d+)-/.exec(l.range!)![1]) / CHUNK);
    expect(ranges).toEqual([0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 6, 7]);
    checkProgress(events, totalOf(basic()));
  });

  it('retries dropped connections (reset before any byte, closed mid-body) with backoff', async () => {
    hub.setFault(unetKey, { reset: true, times: 2 });
    hub.setFault(`${REPO}/vae_decoder/model.onnx`, { closeAfter: 3000, times: 2 });
    const store = new MemoryStore();
    const t0 = performance.now();
    await downloadModel(basic(), opts(store, { backoffMs: 30 }));
    await expectStored(store, basic());
    expect(performance.now() - t0).toBeGreaterThanOrEqual(2 * (30 + 60) - 10);
    expect(hub.log().filter((l) => l.key === unetKey && l.range === `bytes=0-${CHUNK - 1}`)).toHaveLength(3);
  });

  it('drops a stalled connection after stallTimeoutMs and retries the chunk', async () => {
    hub.setFault(unetKey, { stallAfter: 1000, times: 1 });
    const store = new MemoryStore();
    await downloadModel(basic(), opts(store, { stallTimeoutMs: 300 }));
    await expectStored(store, basic());
    const first = hub.log().filter((l) => l.key === unetKey && l.range === `bytes=0-${CHUNK - 1}`);
    expect(first).toHaveLength(2);
    expect(first[0]).toMatchObject({ aborted: true, bytes: 1000 });
  });

  it('a web page instead of the file is an error naming the file, and the model stays incomplete', async () => {
    hub.setFault(unetKey, { html: true });
    const store = new MemoryStore();
    const err = await catchError(downloadModel(basic(), opts(store)));
    expect(err.code).toBe('MODEL_FILE_MISSING');
    expect(err.message).toMatch(/^The server answered with a web page \(text\/html\) instead of unet\/model.onnx at http:\/\/127\.0\.0\.1:\d+\/test\/model\/resolve\/main\/unet\/model.onnx/);
    expect(await isModelStored(basic(), store)).toBe(false);
    expect(await store.hasFile('test-model', 'model_index.json')).toBe(true); // what was downloaded is kept
  });
});

const tinyDir = new URL('../../../fixtures/generated/tiny', import.meta.url).pathname;

describe.skipIf(!existsSync(tinyDir))('a shipped-layout pipeline (fixtures/generated/tiny) through the hub', () => {
  it('downloads the whole diffusers layout byte for byte', async () => {
    const paths: string[] = [];
    const walk = (d: string) => {
      for (const n of readdirSync(d)) {
        const p = join(d, n);
        if (statSync(p).isDirectory()) walk(p);
        else paths.push(relative(tinyDir, p).split('\\').join('/'));
      }
    };
    walk(tinyDir);
    const tinyHub = await startHub({ repos: { 'fewstep/tiny': tinyDir } });
    try {
      const store = new MemoryStore();
      const e = entry(
        paths.map((p) => ({ path: p, size: statSync(join(tinyDir, p)).size, sha256: sha(readFileSync(join(tinyDir, p))) })),
        { id: 'fixture-tiny', source: { type: 'hf', repo: 'fewstep/tiny', revision: 'main' } },
      );
      const events: DownloadProgress[] = [];
      await downloadModel(e, { store, hubBase: tinyHub.url, chunkSize: 64 * 1024, progressIntervalMs: 0, storage: null, onProgress: (ev) => events.push(ev) });
      for (const p of paths) {
        expect(sha(new Uint8Array(await store.readFile(e.id, p))), p).toBe(sha(readFileSync(join(tinyDir, p))));
      }
      expect(events[events.length - 1].overall.percent).toBe(100);
    } finally {
      await tinyHub.close();
    }
  });
});

const standinsDir = new URL('../../../fixtures/generated/standins', import.meta.url).pathname;
const realCatalog = JSON.parse(readFileSync(new URL('../../../models/catalog.json', import.meta.url), 'utf8')) as { models: CatalogEntry[] };

describe.skipIf(!existsSync(join(standinsDir, 'index.json')))('every remote catalog entry from its stand-in export (training/make_standins.py)', () => {
  const index = JSON.parse(readFileSync(join(standinsDir, 'index.json'), 'utf8')) as { standins: Array<{ id: string; mimics: { catalogId: string | null; repo: string } }> };
  const remote = realCatalog.models.filter((m) => m.kind === 'remote');
  const standinOf = (id: string) => index.standins.find((s) => s.mimics.catalogId === id);
  const manifest = (dir: string) =>
    JSON.parse(readFileSync(join(standinsDir, dir, 'standin.json'), 'utf8')) as { realFiles: Array<{ path: string; size: number | null }> };

  it('has a stand-in for each remote entry, and the catalog sizes agree with the real file lists it records', () => {
    for (const e of remote) {
      const s = standinOf(e.id);
      expect(s, e.id).toBeDefined();
      expect(s!.mimics.repo).toBe(e.source.type === 'hf' ? e.source.repo : null);
      const real = new Map(manifest(s!.id).realFiles.map((f) => [f.path, f.size]));
      for (const f of e.files) {
        if (!f.optional) expect(real.has(f.path), `${e.id}: ${f.path} is required but not in the real repo's file list`).toBe(true);
        if (f.size !== null) expect(real.get(f.path), `${e.id}: ${f.path}`).toBe(f.size);
      }
    }
  });

  it.each(remote.map((e) => [e.id, e] as const))('%s downloads through a cross-origin redirect, a CDN hiding Content-Range and ETag, and a dropped connection', async (_id, real) => {
    const s = standinOf(real.id)!;
    const tokRepo = real.tokenizer.source === 'hf' ? real.tokenizer.repo : null;
    const tokStandin = index.standins.find((t) => t.mimics.repo === tokRepo);
    const repos: Record<string, string> = { [s.mimics.repo]: join(standinsDir, s.id) };
    if (tokRepo && tokStandin) repos[tokRepo] = join(standinsDir, tokStandin.id);
    const standHub = await startHub({ repos, redirect: 'cross-origin' });
    try {
      standHub.setFault('*', { exposeHeaders: ['Content-Length'] });
      standHub.setFault(`${s.mimics.repo}/unet/model.onnx`, { reset: true, times: 1 });
      // The stand-ins have the real file names but tiny graphs: the real byte sizes cannot apply, the names do.
      const e: CatalogEntry = { ...real, files: real.files.map((f) => ({ ...f, size: null })) };
      const store = new MemoryStore();
      const r = await downloadModel(e, { store, hubBase: standHub.url, fetchImpl: browserFetch(), chunkSize: 4096, backoffMs: 5, storage: null });
      const present = (p: string) => existsSync(join(standinsDir, s.id, p));
      expect(r.skipped.sort()).toEqual(real.files.filter((f) => f.optional && !present(f.path)).map((f) => f.path).sort());
      for (const f of r.files) {
        const onDisk = f.path.startsWith('tokenizer/') && tokStandin
          ? join(standinsDir, tokStandin.id, f.path.slice('tokenizer/'.length))
          : join(standinsDir, s.id, f.path);
        expect(sha(new Uint8Array(await store.readFile(e.id, f.path))), f.path).toBe(sha(readFileSync(onDisk)));
      }
      expect(await isModelStored(e, store)).toBe(true);
    } finally {
      await standHub.close();
    }
  });
});
