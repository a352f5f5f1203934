/**
 * Progress events of a model download. The shape follows transformers.js (`initiate` -> `progress` -> `done` per
 * file, `cached` for a file already stored) with an `overall` block on every event, so one listener can draw both
 * the file bar and the total bar. Sizes are known before the first byte, so `total` and `overall.total` never
 * change during a download; `loaded` never decreases (a retried chunk is not counted twice) and the last event of
 * every file has `loaded === total`.
 */

export type DownloadStatus = 'initiate' | 'progress' | 'done' | 'cached';

export interface ProgressNumbers {
  loaded: number;
  total: number;
  /** 0..100; 100 exactly when loaded === total (and for empty files). */
  percent: number;
  /** Network throughput over the last few seconds; 0 until measurable, and for cached files. */
  bytesPerSec: number;
  /** Seconds left at the current speed; null while the speed is unknown, 0 when done. */
  etaSec: number | null;
}

export interface DownloadProgress extends ProgressNumbers {
  status: DownloadStatus;
  modelId: string;
  /** Layout path, e.g. `unet/model.onnx`. */
  file: string;
  overall: ProgressNumbers & { filesDone: number; filesTotal: number };
}

function percentOf(loaded: number, total: number): number {
  if (total <= 0) return 100;
  return loaded >= total ? 100 : Math.min(100, (loaded / total) * 100);
}

/** Throughput over a sliding window of (time, bytes) samples. Only network bytes are added, never resumed ones. */
export class RateMeter {
  private readonly samples: Array<[number, number]> = [];
  private bytes = 0;

  constructor(
    private readonly now: () => number,
    private readonly windowMs = 5000,
  ) {}

  add(n: number): void {
    this.bytes += n;
    const t = this.now();
    this.samples.push([t, this.bytes]);
    while (this.samples.length > 2 && t - this.samples[0][0] > this.windowMs) this.samples.shift();
  }

  /** Bytes per second, or 0 until at least 200 ms of samples exist. */
  rate(): number {
    if (this.samples.length < 2) return 0;
    const [t0, b0] = this.samples[0];
    const [t1, b1] = this.samples[this.samples.length - 1];
    const dt = t1 - t0;
    return dt < 200 ? 0 : ((b1 - b0) / dt) * 1000;
  }
}

export function numbers(loaded: number, total: number, rate: number): ProgressNumbers {
  const left = Math.max(0, total - loaded);
  return {
    loaded,
    total,
    percent: percentOf(loaded, total),
    bytesPerSec: rate,
    etaSec: left === 0 ? 0 : rate > 0 ? left / rate : null,
  };
}
