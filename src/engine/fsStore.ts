/**
 * {@link ModelStore} on the local disk, for Node hosts (the CLI's download cache, `~/.cache/fewstep` by default).
 * The browser's stores (OPFS, Cache Storage, memory; download/) keep files as separate chunks; on a disk a file can
 * be written at any offset, so here each file is ONE file from the start and needs no second copy at the end:
 *
 *   <root>/<modelId>/<path>                    a complete, verified file (the folder is a diffusers layout)
 *   <root>/<modelId>/<path>.part               a file being downloaded: chunk i at byte i * chunkSize
 *   <root>/<modelId>/.fewstep/files/<enc>.json its FileManifest (<enc> = encodeURIComponent(path))
 *   <root>/<modelId>/.fewstep/model.json       the ModelInfoRecord
 *
 * Crash safety follows download/chunks.ts: the downloader stores a chunk's bytes before the manifest that lists
 * it, so a chunk is "stored" exactly when the manifest's `done` has it; bytes of an unlisted chunk are rewritten.
 * Manifests are written to a temporary file and renamed (atomic on POSIX). `finalize` renames `<path>.part` to
 * `<path>`. Only Node's `node:fs` is used; this file is never bundled into the app (src/engine/node.ts is its entry).
 */
import { mkdir, open, readdir, readFile, rename, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import type { FileManifest } from './download/chunks';
import { notStoredError, type ModelInfoRecord, type ModelStore, type StorageEstimateLike, type StoredModelInfo } from './download/store';
import { EngineError } from './errors';

const META = '.fewstep';

function isErrno(e: unknown, code: string): boolean {
  return (e as NodeJS.ErrnoException)?.code === code;
}

/** Write `data` to `file` through a temporary sibling and a rename, so readers never see half a file. */
async function writeAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

async function readJson<T>(file: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return null;
    throw new EngineError('STORAGE', `The download cache file ${file} is unreadable (${(e as Error).message}); delete it and download again.`);
  }
}

/** Bytes of every regular file under `dir` (0 when it does not exist). */
async function treeBytes(dir: string): Promise<number> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return 0;
    throw e;
  }
  let n = 0;
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n += await treeBytes(p);
    else if (e.isFile()) n += (await stat(p)).size;
  }
  return n;
}

export class FsModelStore implements ModelStore {
  readonly kind = 'disk' as const;
  /** Absolute root folder of the cache. */
  readonly root: string;

  /**
   * @param root  cache folder (created on the first write). A model loaded from here is labelled
   *              "download cache (disk) <id>"; {@link FsModelStore.modelDir} gives its folder.
   */
  constructor(root: string) {
    this.root = resolve(root);
  }

  /** The folder of one model: a diffusers layout once its files are complete. */
  modelDir(modelId: string): string {
    return join(this.root, this.checkId(modelId));
  }

  private checkId(modelId: string): string {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(modelId) || modelId.includes('..')) {
      throw new EngineError('BAD_REQUEST', `Model id "${modelId}" cannot name a cache folder (letters, digits, "_", "-", "." only).`);
    }
    return modelId;
  }

  private filePath(modelId: string, path: string): string {
    const segs = path.split('/');
    if (path.startsWith('/') || path.includes('\\') || segs.some((s) => s === '' || s === '.' || s === '..' || s === META)) {
      throw new EngineError('BAD_REQUEST', `"${path}" is not a relative file path inside a model folder.`, path);
    }
    const full = join(this.modelDir(modelId), ...segs);
    if (!full.startsWith(this.modelDir(modelId) + sep)) throw new EngineError('BAD_REQUEST', `"${path}" escapes the model folder.`, path);
    return full;
  }

  private manifestPath(modelId: string, path: string): string {
    this.filePath(modelId, path); // validates the path
    return join(this.modelDir(modelId), META, 'files', `${encodeURIComponent(path)}.json`);
  }

  private infoPath(modelId: string): string {
    return join(this.modelDir(modelId), META, 'model.json');
  }

  async hasFile(modelId: string, path: string): Promise<boolean> {
    const m = await this.readManifest(modelId, path);
    if (m?.complete !== true) return false;
    try {
      return (await stat(this.filePath(modelId, path))).size === m.size;
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return false;
      throw e;
    }
  }

  readFile(modelId: string, path: string, as?: 'arrayBuffer'): Promise<ArrayBuffer>;
  readFile(modelId: string, path: string, as: 'stream'): Promise<ReadableStream<Uint8Array>>;
  async readFile(modelId: string, path: string, as: 'arrayBuffer' | 'stream' = 'arrayBuffer'): Promise<never> {
    if (!(await this.hasFile(modelId, path))) throw notStoredError(modelId, path);
    const file = this.filePath(modelId, path);
    if (as === 'stream') return Readable.toWeb(createReadStream(file)) as never;
    const b = await readFile(file);
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as never;
  }

  async readChunk(modelId: string, path: string, index: number): Promise<Uint8Array | null> {
    const m = await this.readManifest(modelId, path);
    if (!m || !(m.complete || m.done.includes(index))) return null;
    const start = index * m.chunkSize;
    const length = Math.min(m.chunkSize, m.size - start);
    if (!(length > 0)) return null;
    const file = this.filePath(modelId, path) + (m.complete ? '' : '.part');
    let fh;
    try {
      fh = await open(file, 'r');
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return null;
      throw e;
    }
    try {
      const out = new Uint8Array(length);
      const { bytesRead } = await fh.read(out, 0, length, start);
      return bytesRead === length ? out : null;
    } finally {
      await fh.close();
    }
  }

  /**
   * Write chunk `index` at byte `index * chunkSize` of `<path>.part`. The chunk size comes from the file's manifest,
   * which the downloader writes before any chunk.
   * @throws EngineError STORAGE when the file has no manifest yet, or when the disk write fails (e.g. ENOSPC).
   */
  async writeChunk(modelId: string, path: string, index: number, data: Uint8Array): Promise<void> {
    const m = await this.readManifest(modelId, path);
    if (!m) throw new EngineError('STORAGE', `Cannot store chunk ${index} of ${modelId}/${path}: write its manifest first.`, path);
    const file = `${this.filePath(modelId, path)}.part`;
    await mkdir(dirname(file), { recursive: true });
    try {
      let fh;
      try {
        fh = await open(file, 'r+');
      } catch (e) {
        if (!isErrno(e, 'ENOENT')) throw e;
        fh = await open(file, 'w+');
      }
      try {
        await fh.write(data, 0, data.byteLength, index * m.chunkSize);
      } finally {
        await fh.close();
      }
    } catch (e) {
      const why = isErrno(e, 'ENOSPC') ? 'the disk is full' : (e as Error).message;
      throw new EngineError('STORAGE', `Could not write ${path} of ${modelId} to ${file}: ${why}.`, path);
    }
  }

  async readManifest(modelId: string, path: string): Promise<FileManifest | null> {
    return readJson<FileManifest>(this.manifestPath(modelId, path));
  }

  async writeManifest(modelId: string, path: string, manifest: FileManifest): Promise<void> {
    await writeAtomic(this.manifestPath(modelId, path), JSON.stringify(manifest));
  }

  /** `<path>.part` becomes `<path>` (cut to the manifest's size), then the manifest says complete. */
  async finalize(modelId: string, path: string, manifest: FileManifest): Promise<void> {
    const file = this.filePath(modelId, path);
    const part = `${file}.part`;
    await mkdir(dirname(file), { recursive: true });
    if (manifest.size === 0) await writeFile(part, new Uint8Array(0));
    const fh = await open(part, 'r+');
    try {
      await fh.truncate(manifest.size);
    } finally {
      await fh.close();
    }
    await rename(part, file);
    await this.writeManifest(modelId, path, { ...manifest, complete: true });
  }

  async deleteFile(modelId: string, path: string): Promise<void> {
    const file = this.filePath(modelId, path);
    await rm(this.manifestPath(modelId, path), { force: true });
    await rm(file, { force: true });
    await rm(`${file}.part`, { force: true });
  }

  async deleteModel(modelId: string): Promise<void> {
    await rm(this.modelDir(modelId), { recursive: true, force: true });
  }

  async writeModelInfo(info: ModelInfoRecord): Promise<void> {
    await writeAtomic(this.infoPath(info.id), JSON.stringify(info));
  }

  async readModelInfo(modelId: string): Promise<ModelInfoRecord | null> {
    return readJson<ModelInfoRecord>(this.infoPath(modelId));
  }

  async listModels(): Promise<StoredModelInfo[]> {
    let ids: string[];
    try {
      ids = (await readdir(this.root, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return [];
      throw e;
    }
    const out: StoredModelInfo[] = [];
    for (const id of ids.sort()) {
      const info = await this.readModelInfo(id);
      const dir = join(this.root, id);
      const bytes = (await treeBytes(dir)) - (await treeBytes(join(dir, META)));
      let files = info?.files;
      if (!files) {
        const names = await readdir(join(dir, META, 'files')).catch(() => [] as string[]);
        files = names.filter((n) => n.endsWith('.json')).map((n) => decodeURIComponent(n.slice(0, -5))).sort();
      }
      out.push({ id, bytes, complete: info?.complete === true, files, updatedAt: info?.updatedAt ?? 0 });
    }
    return out;
  }

  /** usage: bytes under the root; quota: usage plus the free space of its file system (statfs). */
  async estimate(): Promise<StorageEstimateLike> {
    const usage = await treeBytes(this.root);
    let dir = this.root;
    for (;;) {
      try {
        const s = await statfs(dir);
        return { usage, quota: usage + s.bavail * s.bsize };
      } catch (e) {
        const up = dirname(dir);
        if (!isErrno(e, 'ENOENT') || up === dir) return { usage, quota: 0 };
        dir = up;
      }
    }
  }
}
