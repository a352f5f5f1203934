// Conformance suite run over every ModelStore. OPFS and Cache Storage do not exist in Node, so they run on small
// in-memory fakes of the browser APIs (the real ones are exercised by the Playwright e2e).
import { describe, expect, it } from 'vitest';
import { CacheStore, type CacheLike } from './cacheStore';
import { createManifest, markChunkDone } from './chunks';
import { MemoryStore } from './memoryStore';
import { OpfsStore, type OpfsDirectoryHandle, type OpfsFileHandle } from './opfsStore';
import type { ModelStore } from './store';

function fakeCaches(): { open(name: string): Promise<CacheLike> } {
  const caches = new Map<string, Map<string, ArrayBuffer>>();
  return {
    async open(name) {
      const m = caches.get(name) ?? new Map<string, ArrayBuffer>();
      caches.set(name, m);
      return {
        async match(k) {
          const b = m.get(k);
          return b ? new Response(b.slice(0)) : undefined;
        },
        async put(k, r) {
          if (!/^https?:/.test(k)) throw new TypeError('Request scheme must be http or https');
          m.set(k, await r.arrayBuffer());
        },
        async delete(k) {
          return m.delete(k);
        },
        async keys() {
          return [...m.keys()].map((url) => ({ url }));
        },
      };
    },
  };
}

function notFound(): Error {
  return Object.assign(new Error('not found'), { name: 'NotFoundError' });
}

function fakeDir(name: string): OpfsDirectoryHandle {
  const children = new Map<string, OpfsDirectoryHandle | OpfsFileHandle>();
  const dir: OpfsDirectoryHandle = {
    kind: 'directory',
    name,
    async getDirectoryHandle(n, o) {
      const c = children.get(n);
      if (c?.kind === 'directory') return c;
      if (c || !o?.create) throw notFound();
      const d = fakeDir(n);
      children.set(n, d);
      return d;
    },
    async getFileHandle(n, o) {
      const c = children.get(n);
      if (c?.kind === 'file') return c;
      if (c || !o?.create) throw notFound();
      let data = new Uint8Array(0);
      const f: OpfsFileHandle = {
        kind: 'file',
        name: n,
        async getFile() {
          return new Blob([data]);
        },
        async createWritable() {
          const parts: Uint8Array[] = [];
          return {
            async write(d) {
              parts.push(new Uint8Array(d as ArrayBuffer));
            },
            async close() {
              data = new Uint8Array(Buffer.concat(parts));
            },
          };
        },
      };
      children.set(n, f);
      return f;
    },
    async removeEntry(n) {
      if (!children.delete(n)) throw notFound();
    },
    async *entries() {
      for (const e of [...children.entries()]) yield e;
    },
  };
  return dir;
}

const estimate = async () => ({ usage: 100, quota: 1000 });

const stores: Array<[string, () => ModelStore]> = [
  ['memory', () => new MemoryStore({ quota: 1000, baseUsage: 100 })],
  ['cache', () => new CacheStore({ caches: fakeCaches(), estimate })],
  ['opfs', () => new OpfsStore({ root: fakeDir(''), estimate })],
];

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

describe.each(stores)('%s store', (_kind, make) => {
  it('keeps chunks and manifests, and reads the file back whole or streamed once finalized', async () => {
    const s = make();
    const file = bytes(25, 1);
    let m = createManifest({ url: 'u', size: 25, chunkSize: 10 });
    expect(await s.readManifest('m1', 'unet/model.onnx')).toBeNull();
    for (const i of [2, 0, 1]) {
      await s.writeChunk('m1', 'unet/model.onnx', i, file.subarray(i * 10, i * 10 + 10));
      m = markChunkDone(m, i);
      await s.writeManifest('m1', 'unet/model.onnx', m);
    }
    expect((await s.readManifest('m1', 'unet/model.onnx'))?.done).toEqual([0, 1, 2]);
    expect(await s.hasFile('m1', 'unet/model.onnx')).toBe(false);
    await expect(s.readFile('m1', 'unet/model.onnx')).rejects.toThrow(/not stored completely/);
    expect(await s.readChunk('m1', 'unet/model.onnx', 1)).toEqual(file.subarray(10, 20));

    await s.finalize('m1', 'unet/model.onnx', m);
    expect(await s.hasFile('m1', 'unet/model.onnx')).toBe(true);
    expect(new Uint8Array(await s.readFile('m1', 'unet/model.onnx'))).toEqual(file);
    const stream = await s.readFile('m1', 'unet/model.onnx', 'stream');
    const parts: Uint8Array[] = [];
    for await (const p of stream as unknown as AsyncIterable<Uint8Array>) parts.push(p);
    expect(new Uint8Array(Buffer.concat(parts))).toEqual(file);
  });

  it('lists models with bytes and completeness, deletes files and models', async () => {
    const s = make();
    const m = markChunkDone(createManifest({ url: 'u', size: 4, chunkSize: 4 }), 0);
    await s.writeChunk('a', 'x.json', 0, bytes(4, 2));
    await s.writeManifest('a', 'x.json', m);
    await s.writeChunk('b', 'y.onnx', 0, bytes(4, 3));
    await s.writeManifest('b', 'y.onnx', m);
    await s.writeModelInfo({ id: 'a', complete: true, files: ['x.json'], totalBytes: 4, updatedAt: 1 });
    const list = await s.listModels();
    expect(list.map(({ id, bytes: b, complete }) => ({ id, bytes: b, complete }))).toEqual([
      { id: 'a', bytes: 4, complete: true },
      { id: 'b', bytes: 4, complete: false },
    ]);
    expect((await s.readModelInfo('a'))?.files).toEqual(['x.json']);

    await s.deleteFile('b', 'y.onnx');
    expect(await s.readManifest('b', 'y.onnx')).toBeNull();
    await s.deleteModel('a');
    expect(await s.readModelInfo('a')).toBeNull();
    expect((await s.listModels()).map((x) => x.id)).not.toContain('a');
    await s.deleteModel('never-stored'); // no throw
  });

  it('reports the storage estimate', async () => {
    const e = await make().estimate();
    expect(e.quota).toBe(1000);
    expect(e.usage).toBeGreaterThanOrEqual(100);
  });
});
