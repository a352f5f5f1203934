import { useLayoutEffect, useRef } from 'react';
import { samplerLabelFor } from '../../export/metadata';
import { formatTimesteps } from '../../schedulers';
import { hasCustomTimesteps } from '../timesteps';
import { formatLoraList } from '../lora/loraSet';
import { selectLast, selectRun, useAppStore } from '../store';
import { useUiStore } from '../ui/uiStore';
import { useIntegerScale } from '../ui/useIntegerScale';
import { markDrawn } from '../ux/marks';

/**
 * The image, large and pixel-crisp: drawn at its own resolution and scaled by a whole number with nearest-neighbour
 * (image-rendering: pixelated). Shows the run picked in the history strip, else the newest interactive run. The
 * caption names its sampler (with TCD's stochasticity), steps (with a custom timestep list), seed and latency, and
 * says when a WebGPU generation ran the CPU loop ("CPU loop (DPM++ 2M has no GPU step kernel)").
 */
export function ImageView() {
  const last = useAppStore(selectLast);
  const shownId = useUiStore((s) => s.shownRunId);
  const picked = useAppStore((s) => (shownId ? selectRun(s, shownId) : null));
  const shown = picked ?? last;
  const running = useAppStore((s) => s.running);
  const genError = useAppStore((s) => s.genError);
  const canvas = useRef<HTMLCanvasElement>(null);
  const wrap = useRef<HTMLDivElement>(null);
  const size = shown?.result.image.width ?? 64;
  const px = useIntegerScale(wrap, size, 768);
  // A layout effect draws before the browser paints this commit; a passive effect (useEffect) can run after the
  // paint, which put the new image on screen one frame late (up to 16 ms of the slider's latency).
  useLayoutEffect(() => {
    const c = canvas.current;
    if (!c || !shown) return;
    const { data, width, height } = shown.result.image;
    if (c.width !== width) c.width = width;
    if (c.height !== height) c.height = height;
    // The engine transfers the image's buffer to this thread: draw it without another copy.
    c.getContext('2d')!.putImageData(new ImageData(data as Uint8ClampedArray<ArrayBuffer>, width, height), 0, 0);
    markDrawn(shown.requestId);
  }, [shown]);
  const pixelated = !!shown && shown.result.image.width < 256;
  return (
    <div className="image-view">
      <div className="canvas-wrap" ref={wrap}>
        <canvas
          ref={canvas}
          data-testid="image"
          data-request={shown?.requestId ?? ''}
          data-steps={shown?.params.steps ?? ''}
          data-seed={shown?.params.seed ?? ''}
          data-prompt={shown?.params.prompt ?? ''}
          style={{ width: px, height: px }}
          className={pixelated ? 'pixelated' : ''}
          role="img"
          aria-label={shown ? `Generated image for "${shown.params.prompt}"` : 'No image yet'}
        />
        {!shown && !running && <div className="placeholder">No image yet</div>}
        {running && (
          <div className="running" data-testid="running">
            step {running.step}/{running.total}
          </div>
        )}
      </div>
      {shown && (
        <p className="caption" data-testid="caption">
          {picked && picked !== last ? 'From history: ' : ''}
          {shown.modelName}
          {shown.params.loras?.length ? <span data-testid="caption-loras"> + LoRA {formatLoraList(shown.params.loras)}</span> : null} ·{' '}
          {samplerLabelFor(shown.result.schedulerClass)}
          {shown.result.schedulerClass === 'TCDScheduler' ? ` (stochasticity ${shown.params.gamma})` : ''} · {shown.params.steps} step
          {shown.params.steps === 1 ? '' : 's'}
          {hasCustomTimesteps(shown.params) ? ` at t = ${formatTimesteps(shown.result.timesteps)}` : ''} · seed {shown.params.seed} ·{' '}
          {shown.result.timings.totalMs.toFixed(0)} ms on {shown.provider === 'webgpu' ? 'WebGPU' : 'WASM'}
          {shown.result.loopFallback && shown.result.loopReason ? (
            <span data-testid="loop-fallback" title="The GPU-resident loop keeps the latents on the GPU; this sampler's step runs on the CPU between U-Net calls.">
              {' '}
              · {shown.result.loopReason}
            </span>
          ) : null}
        </p>
      )}
      {genError && (
        <div className="error" role="alert" data-testid="gen-error">
          <strong>Generation failed{genError.file ? ` (${genError.file})` : ''}:</strong> {genError.message}
          <button onClick={() => useAppStore.setState({ genError: null })} aria-label="Dismiss">×</button>
        </div>
      )}
    </div>
  );
}
