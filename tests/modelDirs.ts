/** Test helpers: find model folders on disk and read them as a ModelSource (Node has no fetch for file://). */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { EngineError } from '../src/engine/errors';
import type { ModelSource, ReadOptions } from '../src/engine/source';

export const ROOT = resolve(__dirname, '..');

export class FsSource implements ModelSource {
  constructor(readonly label: string) {}
  async read(path: string, opts: ReadOptions = {}): Promise<ArrayBuffer | null> {
    const file = join(this.label, path);
    if (!existsSync(file)) {
      if (opts.optional) return null;
      throw new EngineError('MODEL_FILE_MISSING', `Missing model file ${path} in ${this.label}.`, path);
    }
    const b = readFileSync(file);
    opts.onProgress?.(b.byteLength, b.byteLength);
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  }
}

/** Shipped pipeline folders (models/<id>/model_index.json). */
export function shippedModelDirs(): string[] {
  const dir = join(ROOT, 'models');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((d) => existsSync(join(dir, d, 'model_index.json')))
    .map((d) => join(dir, d))
    .sort();
}

/** The random-weight fixtures made by training/make_fixture.py, when present. */
export function fixtureDir(name = 'tiny'): string | null {
  const d = join(ROOT, 'fixtures/generated', name);
  return existsSync(join(d, 'model_index.json')) ? d : null;
}

/** Every file under a pipeline folder as {path relative to it, Blob}: a ModelRef of kind 'files'. */
export function filesOf(root: string): Array<{ path: string; blob: Blob }> {
  const out: Array<{ path: string; blob: Blob }> = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else out.push({ path: relative(root, p).split('\\').join('/'), blob: new Blob([readFileSync(p)]) });
    }
  };
  walk(root);
  return out;
}
