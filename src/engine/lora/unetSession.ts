/**
 * A new U-Net session for a loaded pipeline, with LoRAs merged in (or none: the base weights read again). The LoRA
 * picker's Apply rebuilds only this session: the text encoder(s), VAE decoder and tokenizers of the loaded pipeline
 * are reused (Pipeline.withUnet), so an apply holds one extra U-Net at its peak instead of a second pipeline
 * (SD 1.5 fp32 on WASM: about 3.4 GB of U-Net plus 0.5 GB of the rest, over the 4 GB heap with two pipelines).
 */
import { createSession, type Provider, type SessionHandle } from '../ort';
import type { ModelSource } from '../source';
import { isOnDemand } from '../sources/onDemand';
import { readSidecars, sidecarsOf } from '../sources/externalData';
import type { LoadProgress } from '../pipeline/types';
import { mergeLorasAsync, type LoraAdapter, type LoraMergeResult } from './merge';

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/** What {@link loadUnetSession} made. */
export interface UnetSession {
  handle: SessionHandle;
  /** The merge report; undefined without adapters. */
  lora?: LoraMergeResult;
  /** Bytes read for the U-Net: its graph and the sidecars it names (on-demand sidecars by their size). */
  bytes: number;
  /** Wall time of the read, merge and session creation, ms. */
  ms: number;
}

/**
 * Read the U-Net graph `file` and the sidecars it names from `source`, merge `loras` into those bytes (lora/merge.ts,
 * in place; an adapter that does not fit throws before a byte is written) and make its session on `provider`.
 * Without adapters a sidecar on a local disk goes to onnxruntime on demand (sources/onDemand.ts), as a full load does.
 * Progress uses the load's shape (LoadProgress, one session in all) so the app's load bar works unchanged.
 *
 * @param source   the loaded pipeline's source (the same files it was loaded from)
 * @param file     the U-Net's layout path (`unet/model.onnx`, or the flat `onnx/unet_model*.onnx`)
 * @param provider the provider the pipeline's other sessions run on (no WebGPU -> WASM fallback here: a failure
 *   throws and the loaded pipeline stays as it was)
 * @throws EngineError from the source (MODEL_FILE_MISSING, NETWORK, ...), the merge (LORA_INVALID, LORA_MISMATCH,
 *   BAD_REQUEST) or session creation (SESSION_CREATE_FAILED); DOMException AbortError when `opts.signal` aborts
 */
export async function loadUnetSession(
  source: ModelSource,
  file: string,
  provider: Provider,
  loras: readonly LoraAdapter[],
  opts: { signal?: AbortSignal; onProgress?: (p: LoadProgress) => void } = {},
): Promise<UnetSession> {
  const t0 = now();
  let filesDone = 0;
  let filesTotal = 1;
  let sessionsDone = 0;
  let bytes = 0;
  const report = (p: Pick<LoadProgress, 'phase' | 'file' | 'status' | 'loaded' | 'total'>): void =>
    opts.onProgress?.({ ...p, filesDone, filesTotal, sessionsDone, sessionsTotal: 1 });
  const read = async (path: string, optional: boolean): Promise<ArrayBuffer | null> => {
    opts.signal?.throwIfAborted();
    report({ phase: 'fetch', file: path, status: 'initiate', loaded: 0, total: null });
    const buf = await source.read(path, {
      optional,
      signal: opts.signal,
      onProgress: (loaded, total) => report({ phase: 'fetch', file: path, status: 'progress', loaded, total }),
    });
    filesDone++;
    bytes += buf?.byteLength ?? 0;
    report({ phase: 'fetch', file: path, status: 'done', loaded: buf?.byteLength ?? 0, total: buf?.byteLength ?? 0 });
    return buf;
  };
  const graph = (await read(file, false))!;
  const model = new Uint8Array(graph);
  filesTotal += sidecarsOf(file, model).length;
  const external = await readSidecars(source, file, model, {
    read: (p) => read(p, true),
    // The merge rewrites the bytes in memory, so merged sidecars are read whole.
    open: loras.length
      ? undefined
      : (p) => {
          const r = source.syncReader?.(p) ?? null;
          if (r) {
            filesDone++;
            bytes += r.size;
          }
          return r;
        },
  });
  const lora = loras.length
    ? await mergeLorasAsync(model, external, [...loras], file, {
        signal: opts.signal,
        onProgress: (m) => report({ phase: 'merge', file, status: m.weightsDone === 0 ? 'initiate' : m.weightsDone === m.weightsTotal ? 'done' : 'progress', loaded: m.bytesDone, total: m.bytesTotal }),
      })
    : undefined;
  opts.signal?.throwIfAborted();
  report({ phase: 'session', file, status: 'initiate', loaded: 0, total: null });
  const onDemand = (external ?? []).map((e) => e.data).filter(isOnDemand);
  let handle: SessionHandle;
  try {
    handle = await createSession(graph, file, provider, external);
  } finally {
    onDemand.forEach((d) => d.close());
  }
  sessionsDone++;
  report({ phase: 'session', file, status: 'done', loaded: 0, total: null });
  return { handle, ...(lora ? { lora } : {}), bytes, ms: now() - t0 };
}
