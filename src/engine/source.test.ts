/**
 * File readers keep one copy of a file (issue 12, memory): UrlSource fills one buffer of the announced length as the
 * body arrives, FileMapSource streams large blobs into one buffer (Node's Blob.arrayBuffer() concatenated its chunks:
 * 2x). Errors name the file: a body shorter or longer than its Content-Length.
 */
import { describe, expect, it } from 'vitest';
import { FileMapSource, UrlSource } from './source';

/** A fetch that answers every URL with `chunks` as a streamed body and the given Content-Length (null: none). */
function fakeFetch(chunks: Uint8Array[], length: number | null): typeof fetch {
  return (async () => {
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (const ch of chunks) c.enqueue(ch);
        c.close();
      },
    });
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
    if (length !== null) headers['content-length'] = String(length);
    return new Response(body, { status: 200, headers });
  }) as typeof fetch;
}

const bytes = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255);

describe('UrlSource', () => {
  it('fills one buffer of the Content-Length with the chunks in order, with progress', async () => {
    const parts = [bytes(5, 1), bytes(7, 2), bytes(3, 3)];
    const seen: Array<[number, number | null]> = [];
    const buf = await new UrlSource('https://x/', fakeFetch(parts, 15)).read('unet/model.onnx', { onProgress: (l, t) => seen.push([l, t]) });
    expect(new Uint8Array(buf!)).toEqual(Uint8Array.from([...parts[0], ...parts[1], ...parts[2]]));
    expect(buf!.byteLength).toBe(15);
    expect(seen).toEqual([[0, 15], [5, 15], [12, 15], [15, 15]]);
  });

  it('a body shorter than its Content-Length is an error naming the file', async () => {
    const src = new UrlSource('https://x/', fakeFetch([bytes(4, 0)], 10));
    await expect(src.read('unet/model.onnx_data', { onProgress: () => {} })).rejects.toMatchObject({
      code: 'MODEL_FILE_CORRUPT',
      message: 'unet/model.onnx_data is truncated: got 4 of 10 bytes.',
    });
  });

  it('a body longer than its Content-Length is an error naming the file', async () => {
    const src = new UrlSource('https://x/', fakeFetch([bytes(8, 0), bytes(8, 1)], 10));
    await expect(src.read('unet/model.onnx_data', { onProgress: () => {} })).rejects.toMatchObject({
      code: 'MODEL_FILE_CORRUPT',
      message: expect.stringContaining('unet/model.onnx_data is longer than the 10 bytes its Content-Length announced'),
    });
  });

  it('without a Content-Length the chunks are joined', async () => {
    const buf = await new UrlSource('https://x/', fakeFetch([bytes(3, 0), bytes(2, 9)], null)).read('a.bin', { onProgress: () => {} });
    expect(new Uint8Array(buf!)).toEqual(Uint8Array.from([...bytes(3, 0), ...bytes(2, 9)]));
  });
});

describe('FileMapSource', () => {
  it('reads a large blob as a stream into one buffer of its size, with progress', async () => {
    // 65 parts of 1 MiB + 3 bytes: a stream yields them one by one (one arrayBuffer() call would report once).
    const parts = Array.from({ length: 65 }, () => new Uint8Array(1024 * 1024));
    parts.push(new Uint8Array(3));
    parts[0][0] = 7;
    parts[65][2] = 9;
    const size = 65 * 1024 * 1024 + 3;
    const src = new FileMapSource('folder x', new Map([['unet/model.onnx_data', new Blob(parts)]]));
    const seen: number[] = [];
    const buf = await src.read('unet/model.onnx_data', { onProgress: (l) => seen.push(l) });
    const out = new Uint8Array(buf!);
    expect(out.byteLength).toBe(size);
    expect([out[0], out[size - 1]]).toEqual([7, 9]);
    expect(seen.length).toBeGreaterThan(1);
    expect(seen.at(-1)).toBe(size);
  });

  it('a small file is read whole; a missing one names the folder', async () => {
    const src = new FileMapSource('folder x', new Map([['model_index.json', new Blob(['{}'])]]));
    expect(new TextDecoder().decode((await src.read('model_index.json'))!)).toBe('{}');
    await expect(src.read('unet/model.onnx')).rejects.toMatchObject({ code: 'MODEL_FILE_MISSING', message: 'The folder folder x has no unet/model.onnx.' });
  });
});
