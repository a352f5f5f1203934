import { useAppStore } from '../store';
import { RgbaCanvas } from './RgbaCanvas';

/** Each step's predicted clean image (decoded x0) of the latest run: how a 1-step and a 50-step sampler get there. */
export function Filmstrip() {
  const show = useAppStore((s) => s.showPreviews);
  const previews = useAppStore((s) => s.previews);
  const running = useAppStore((s) => s.running);
  if (!show) return null;
  const frames = previews?.frames ?? [];
  // Long runs: keep the strip readable by showing at most 16 evenly spaced frames (always the last).
  const max = 16;
  const shown = frames.length <= max ? frames : frames.filter((_, i) => i === frames.length - 1 || i % Math.ceil(frames.length / max) === 0);
  return (
    <section className="filmstrip" aria-label="Per-step previews" data-testid="filmstrip" data-frames={frames.length}>
      <h3>Per-step x0 previews</h3>
      {frames.length === 0 ? (
        <p className="hint">{running ? 'Waiting for the first step…' : 'Generate (or move the slider) to see each step’s prediction.'}</p>
      ) : (
        <ol>
          {shown.map((f) => (
            <li key={f.index}>
              <RgbaCanvas image={f.image} label={`Step ${f.index + 1} of ${f.total} prediction`} />
              <span>
                {f.index + 1}/{f.total} · t={f.timestep}
              </span>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
