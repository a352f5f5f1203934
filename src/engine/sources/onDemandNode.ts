/**
 * Node's synchronous reader for the blobs of files on disk (sources/onDemand.ts): `fs.openAsBlob` blobs carry no path,
 * so the Node host records each one's path here when it makes it (`registerFileBlob`, nodeHost.ts folderFiles), and a
 * sidecar's reader then reads ranges with `fs.readSync` from one descriptor. Node only (imports node:fs).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { registerSyncBlobReader, type SyncRangeReader } from './onDemand';

const paths = new WeakMap<Blob, string>();

/** A reader of the file at `path` (`size` bytes expected); ranges are read with `fs.readSync`. */
export function fileRangeReader(path: string, size?: number): SyncRangeReader {
  const fd = openSync(path, 'r');
  const actual = fstatSync(fd).size;
  if (size !== undefined && actual !== size) {
    closeSync(fd);
    throw new Error(`${path} changed on disk (${actual} bytes, ${size} expected)`);
  }
  let open = true;
  return {
    size: actual,
    read(offset, length) {
      if (!open) throw new Error(`${path} was closed`);
      const out = new Uint8Array(length);
      let got = 0;
      while (got < length) {
        const n = readSync(fd, out, got, length - got, offset + got);
        if (n === 0) throw new Error(`${path} ends at byte ${offset + got}, ${length - got} bytes short`);
        got += n;
      }
      return out;
    },
    close() {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

registerSyncBlobReader((blob) => {
  const p = paths.get(blob);
  return p ? fileRangeReader(p, blob.size) : null;
});

/** Remember that `blob` is the file at `path` (an `fs.openAsBlob` blob), so sidecars can be read from it on demand. */
export function registerFileBlob(blob: Blob, path: string): void {
  paths.set(blob, path);
}
