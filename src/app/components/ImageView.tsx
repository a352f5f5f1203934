import { useEffect, useRef } from 'react';
import { useAppStore } from '../store';

/** The latest image, drawn pixel-crisp (64x64 models are scaled up with nearest-neighbour). */
export function ImageView() {
  const last = useAppStore((s) => s.last);
  const running = useAppStore((s) => s.running);
  const genError = useAppStore((s) => s.genError);
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const c = canvas.current;
    if (!c || !last) return;
    const { data, width, height } = last.result.image;
    c.width = width;
    c.height = height;
    c.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(data), width, height), 0, 0);
  }, [last]);
  return (
    <div className="image-view">
      <div className="canvas-wrap">
        <canvas
          ref={canvas}
          data-testid="image"
          data-request={last?.requestId ?? ''}
          data-steps={last?.params.steps ?? ''}
          data-seed={last?.params.seed ?? ''}
          className={last && last.result.image.width < 256 ? 'pixelated' : ''}
          aria-label={last ? `Generated image for "${last.params.prompt}"` : 'No image yet'}
        />
        {!last && !running && <div className="placeholder">No image yet</div>}
        {running && (
          <div className="running" data-testid="running">
            step {running.step}/{running.total}
          </div>
        )}
      </div>
      {last && (
        <p className="caption" data-testid="caption">
          {last.modelName} · {last.result.schedulerClass.replace('Scheduler', '')} · {last.params.steps} step
          {last.params.steps === 1 ? '' : 's'} · seed {last.params.seed} · {last.result.timings.totalMs.toFixed(0)} ms on{' '}
          {last.provider === 'webgpu' ? 'WebGPU' : 'WASM'}
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
