/**
 * Where the time between an input (steps slider move, keystroke) and the new image on screen goes. Each interaction
 * is stamped at five points with performance.now() (and a performance.mark, visible in DevTools' timeline):
 *   input -> request (React state update, engine request posted) -> result (worker ran + postMessage back)
 *   -> drawn (store update, React commit, putImageData) -> painted (next frame).
 * `window.__fewstepUx` exposes the samples to bench/ux.mjs; nothing is recorded until an input is stamped.
 */
import type { StageTimings } from '../../engine';

export type UxKind = 'slider' | 'typing' | 'other';

export interface UxSample {
  kind: UxKind;
  requestId: string;
  input: number;
  request: number;
  result: number | null;
  drawn: number | null;
  painted: number | null;
  /** The engine's own time for this generation (GenerateResult.timings.totalMs). */
  engineMs: number | null;
  /**
   * Where the engine's time went (GenerateResult.timings, ms): text encoder (0 when the prompt's embedding came from
   * the cache), U-Net calls summed, VAE decode, and the rest (scheduler, conversions, queue).
   */
  stages: { tokenizeMs: number; textEncoderMs: number; unetMs: number; unetCalls: number; vaeMs: number; otherMs: number; embeddingCached: boolean } | null;
  prompt: string;
}

const MAX_SAMPLES = 500;
const samples: UxSample[] = [];
let pendingInput: { kind: UxKind; t: number } | null = null;
const byRequest = new Map<string, UxSample>();
const paintListeners = new Set<(s: UxSample) => void>();

/** The user moved the slider or typed: the next request belongs to this input (the earliest unserved one). */
export function markInput(kind: UxKind): void {
  const t = performance.now();
  performance.mark(`fewstep:input:${kind}`);
  pendingInput ??= { kind, t };
}

/** A generation request went to the engine. */
export function markRequest(requestId: string, prompt: string): void {
  const t = performance.now();
  const input = pendingInput ?? { kind: 'other' as const, t };
  pendingInput = null;
  const s: UxSample = { kind: input.kind, requestId, input: input.t, request: t, result: null, drawn: null, painted: null, engineMs: null, stages: null, prompt };
  byRequest.set(requestId, s);
  samples.push(s);
  if (samples.length > MAX_SAMPLES) byRequest.delete(samples.shift()!.requestId);
}

/** The engine's result arrived on this thread; `timings` are the engine's own (GenerateResult.timings). */
export function markResult(requestId: string, timings: StageTimings): void {
  const s = byRequest.get(requestId);
  if (!s) return;
  s.result = performance.now();
  s.engineMs = timings.totalMs;
  const unetMs = timings.unetMs.reduce((a, b) => a + b, 0);
  const known = timings.tokenizeMs + timings.textEncoderMs + unetMs + timings.vaeMs;
  s.stages = {
    tokenizeMs: timings.tokenizeMs,
    textEncoderMs: timings.textEncoderMs,
    unetMs,
    unetCalls: timings.unetMs.length,
    vaeMs: timings.vaeMs,
    otherMs: Math.max(0, timings.totalMs - known),
    embeddingCached: timings.embeddingCached,
  };
}

/** The main canvas now holds this request's image; stamps the paint on the next frame. */
export function markDrawn(requestId: string): void {
  const s = byRequest.get(requestId);
  if (!s || s.drawn !== null) return;
  s.drawn = performance.now();
  requestAnimationFrame(() =>
    setTimeout(() => {
      s.painted = performance.now();
      for (const l of paintListeners) l(s);
    }, 0),
  );
}

export interface UxHook {
  samples(): UxSample[];
  clear(): void;
  onPaint(listener: (s: UxSample) => void): () => void;
}

declare global {
  interface Window {
    __fewstepUx?: UxHook;
  }
}

export function installUxHook(): void {
  if (typeof window === 'undefined' || window.__fewstepUx) return;
  window.__fewstepUx = {
    samples: () => samples.map((s) => ({ ...s })),
    clear: () => {
      samples.length = 0;
      byRequest.clear();
    },
    onPaint: (l) => {
      paintListeners.add(l);
      return () => paintListeners.delete(l);
    },
  };
}
