/**
 * GPU traffic counters for the benchmark: readbacks (buffer maps for reading) and live GPU buffers.
 *
 * The counters patch the WebGPU prototypes of this realm once (`installGpuCounters`), so they see every buffer and
 * every readback, ours and onnxruntime-web's (its native WebGPU engine calls the same JS API through emdawnwebgpu).
 * A readback is one `GPUBuffer.mapAsync(GPUMapMode.READ)`: the only way data leaves a WebGPU device.
 * Live buffers = created - destroyed; a buffer dropped without `destroy()` stays counted (the leak we look for).
 */
export interface GpuCounters {
  installed: boolean;
  readbacks: number;
  readbackBytes: number;
  buffersCreated: number;
  buffersDestroyed: number;
  liveBuffers: number;
  liveBytes: number;
}

const state: GpuCounters = {
  installed: false,
  readbacks: 0,
  readbackBytes: 0,
  buffersCreated: 0,
  buffersDestroyed: 0,
  liveBuffers: 0,
  liveBytes: 0,
};

const destroyed = new WeakSet<object>();

/** Patch GPUDevice.createBuffer, GPUBuffer.destroy and GPUBuffer.mapAsync (idempotent; no-op without WebGPU). */
export function installGpuCounters(): boolean {
  if (state.installed) return true;
  const g = globalThis as unknown as { GPUDevice?: { prototype: GPUDevice }; GPUBuffer?: { prototype: GPUBuffer } };
  if (!g.GPUDevice || !g.GPUBuffer) return false;
  const dev = g.GPUDevice.prototype;
  const buf = g.GPUBuffer.prototype;
  const createBuffer = dev.createBuffer;
  const destroy = buf.destroy;
  const mapAsync = buf.mapAsync;
  dev.createBuffer = function (this: GPUDevice, desc: GPUBufferDescriptor): GPUBuffer {
    const b = createBuffer.call(this, desc);
    state.buffersCreated++;
    state.liveBuffers++;
    state.liveBytes += desc.size;
    return b;
  };
  buf.destroy = function (this: GPUBuffer): undefined {
    if (!destroyed.has(this)) {
      destroyed.add(this);
      state.buffersDestroyed++;
      state.liveBuffers--;
      state.liveBytes -= this.size;
    }
    destroy.call(this);
    return undefined;
  };
  buf.mapAsync = function (this: GPUBuffer, mode: GPUMapModeFlags, offset?: number, size?: number): Promise<undefined> {
    // GPUMapMode.READ === 1
    if (mode & 1) {
      state.readbacks++;
      state.readbackBytes += size ?? this.size - (offset ?? 0);
    }
    return mapAsync.call(this, mode, offset, size) as Promise<undefined>;
  };
  state.installed = true;
  return true;
}

/** A snapshot of the counters (a copy). */
export function gpuCounters(): GpuCounters {
  return { ...state };
}
