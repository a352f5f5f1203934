import { sliderPositions } from '../compare/plan';
import { requestLive } from '../live';
import { updateSettings, useAppStore } from '../store';
import { hasCustomTimesteps } from '../timesteps';
import { markInput } from '../ux/marks';

/**
 * Live step-count slider. Each move regenerates with the same prompt and seed: the engine's latest-wins queue
 * cancels the stale run at its next step boundary and the prompt embedding comes from the pipeline's cache, so
 * only the denoising loop and the VAE run again. A native range input: arrows, Page Up/Down, Home/End work.
 * Requests go through live.requestLive (one in flight, the latest waiting), timed by ux/marks. Disabled while a
 * custom timestep list sets the step count (its length).
 */
export function StepsSlider() {
  const steps = useAppStore((s) => s.settings.steps);
  const loaded = useAppStore((s) => s.loaded);
  const loading = useAppStore((s) => s.loading);
  const custom = useAppStore((s) => hasCustomTimesteps(s.settings));
  const positions = sliderPositions(loaded?.defaults.allowedSteps ?? null, steps);
  const index = Math.max(0, positions.indexOf(steps));
  const disabled = !loaded || loading !== null || custom;
  const restricted = !!loaded?.defaults.allowedSteps?.length;
  return (
    <div className="steps-slider">
      <label htmlFor="steps-range">
        Steps: <output data-testid="steps-value">{steps}</output>
      </label>
      <input
        id="steps-range"
        data-testid="steps"
        type="range"
        min={0}
        max={positions.length - 1}
        step={1}
        value={index}
        disabled={disabled}
        aria-valuetext={`${steps} step${steps === 1 ? '' : 's'}`}
        list="steps-ticks"
        onChange={(e) => {
          const next = positions[Number(e.target.value)];
          if (next === undefined || next === useAppStore.getState().settings.steps) return;
          markInput('slider');
          updateSettings({ steps: next });
          requestLive();
        }}
      />
      <datalist id="steps-ticks">
        {positions.map((_, i) => (
          <option key={i} value={i} />
        ))}
      </datalist>
      <div className="ticks" aria-hidden="true">
        {positions.length <= 12 ? positions.map((n) => <span key={n} className={n === steps ? 'on' : ''}>{n}</span>) : (
          <>
            <span>{positions[0]}</span>
            <span>{positions[positions.length - 1]}</span>
          </>
        )}
      </div>
      <small className="hint">
        {custom
          ? 'The step count follows the custom timesteps below. Clear the Timesteps field to use the slider.'
          : disabled
          ? loading
            ? 'Waiting for the model to load…'
            : 'Load a model to use the slider.'
          : restricted
            ? `${loaded!.name} supports ${loaded!.defaults.allowedSteps!.join(', ')} steps. Moving the slider regenerates.`
            : 'Moving the slider regenerates with the same prompt and seed.'}
      </small>
    </div>
  );
}
