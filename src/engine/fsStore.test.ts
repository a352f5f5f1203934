// FsModelStore's kind: the CLI's disk cache says 'disk', so a model loaded from it is labelled as coming from disk.
// (Its reads, writes and resume under the downloader are covered in tests/cli.unit.test.ts.)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { StoreKind } from './download/store';
import { FsModelStore } from './fsStore';
import { StoreSource } from './sources/catalogSource';

describe('FsModelStore kind', () => {
  const root = mkdtempSync(join(tmpdir(), 'fewstep-fskind-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("is 'disk', and a model read from it is labelled \"download cache (disk)\"", () => {
    const store = new FsModelStore(join(root, 'cache'));
    const kind: StoreKind = store.kind;
    expect(kind).toBe('disk');
    expect(new StoreSource(store, 'sd-turbo').label).toBe('download cache (disk) sd-turbo');
  });
});
