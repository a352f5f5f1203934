import { useMemo } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { GENERATE_LIMITS, isValidSeed } from '../../engine';
import { cancelAll, generate, loadModel } from '../engineBridge';
import { requestLive } from '../live';
import { updateSettings, useAppStore } from '../store';
import { formatTimesteps, samplerLabel } from '../../schedulers';
import { PromptBox } from '../prompt/PromptBox';
import { checkTimesteps, DEFAULT_GAMMA, effectiveSampler, timestepsPatch } from '../timesteps';
import { markInput } from '../ux/marks';
import { clampGuidance } from '../lora/lcmPreset';
import { LoraPicker } from '../lora/LoraPicker';
import { useLoraStore } from '../lora/loraStore';
import { samplerOptions } from './samplerOptions';
import { samplerFit } from '../samplerFit';
import { StepsSlider } from './StepsSlider';

/**
 * Custom timesteps (diffusers' `timesteps=`): a text field checked as you type against the scheduler that will run
 * it; the scheduler's message shows under it, and a valid list sets the step count.
 */
function TimestepsField({ text, error, list }: { text: string; error: string | null; list: number[] | null }) {
  const loaded = useAppStore((s) => s.loaded);
  const sampler = useAppStore((s) => s.settings.sampler);
  return (
    <div className="timesteps-field">
      <label>
        Timesteps
        <input
          data-testid="timesteps"
          type="text"
          inputMode="numeric"
          autoComplete="off"
          spellCheck={false}
          placeholder="999,749,499,249"
          value={text}
          aria-invalid={error !== null}
          aria-describedby="timesteps-help"
          onChange={(e) => {
            const next = e.target.value;
            const st = useAppStore.getState();
            updateSettings(timestepsPatch(next, checkTimesteps(next, st.settings.sampler, st.loaded)));
          }}
        />
      </label>
      <small id="timesteps-help" className={error ? 'hint warn' : 'hint'} data-testid="timesteps-help" role={error ? 'alert' : undefined}>
        {error
          ? error
          : list
            ? `${list.length} step${list.length === 1 ? '' : 's'} at t = ${formatTimesteps(list)}. Clear the field for ${samplerLabel(effectiveSampler(sampler, loaded)) || 'the scheduler'}'s own spacing.`
            : "Empty: the scheduler's own spacing. Or list training timesteps, highest first (diffusers' timesteps=), e.g. 999,749,499,249."}
      </small>
    </div>
  );
}

/** TCD's gamma ("stochasticity", diffusers' eta of TCDScheduler.step), shown only while TCD is the sampler. */
function StochasticitySlider() {
  const gamma = useAppStore((s) => s.settings.gamma);
  const loaded = useAppStore((s) => s.loaded);
  const loading = useAppStore((s) => s.loading);
  return (
    <div className="gamma-slider">
      <label htmlFor="gamma-range">
        Stochasticity (TCD gamma): <output data-testid="gamma-value">{gamma.toFixed(2)}</output>
      </label>
      <input
        id="gamma-range"
        data-testid="gamma"
        type="range"
        min={0}
        max={1}
        step={0.05}
        value={gamma}
        disabled={!loaded || loading !== null}
        onChange={(e) => {
          const v = Number(e.target.value);
          if (!(v >= 0 && v <= 1) || v === useAppStore.getState().settings.gamma) return;
          markInput('other');
          updateSettings({ gamma: v });
          requestLive();
        }}
      />
      <small className="hint">
        0: deterministic; 1: fresh noise after every step, as multistep consistency sampling. Default {DEFAULT_GAMMA}, as diffusers' TCD
        pipeline.
      </small>
    </div>
  );
}

/** Stop: its own component, so a generation starting and ending re-renders this button, not the whole form. */
function StopButton() {
  const busy = useAppStore((s) => s.running !== null || s.loading !== null);
  return (
    <button type="button" data-testid="cancel" disabled={!busy} onClick={cancelAll}>
      Stop
    </button>
  );
}

/**
 * The settings form. It reads only the settings it shows (the prompt box and the steps slider read their own), so a
 * slider move, a keystroke or a generation starting and ending does not re-render the whole form (issue 15: live
 * typing and sliding).
 */
export function ControlPanel() {
  const settings = useAppStore(
    useShallow((s) => ({
      timesteps: s.settings.timesteps,
      sampler: s.settings.sampler,
      modelId: s.settings.modelId,
      seed: s.settings.seed,
      guidanceScale: s.settings.guidanceScale,
      provider: s.settings.provider,
    })),
  );
  const models = useAppStore((s) => s.models);
  const loaded = useAppStore((s) => s.loaded);
  const loading = useAppStore((s) => s.loading);
  const showPreviews = useAppStore((s) => s.showPreviews);
  // While an LCM-LoRA is applied its guidance range holds (lora/lcmPreset.ts).
  const preset = useLoraStore((s) => s.preset);
  const busy = loading !== null;
  const check = useMemo(() => checkTimesteps(settings.timesteps, settings.sampler, loaded), [settings.timesteps, settings.sampler, loaded]);
  const blocked = check.ok ? null : `Fix the timesteps to generate: ${check.message}`;
  const tcd = effectiveSampler(settings.sampler, loaded) === 'TCDScheduler';
  // A caption when the sampler is not the model's family (CM multistep on the teacher draws blobs).
  const fit = samplerFit(settings.sampler, loaded?.schedulerClass ?? '', { lcmLora: preset !== null });
  return (
    <form
      className="controls"
      onSubmit={(e) => {
        e.preventDefault();
        void generate();
      }}
    >
      <PromptBox />
      <label>
        Model
        <select
          data-testid="model"
          value={settings.modelId}
          onChange={(e) => void loadModel(e.target.value)}
        >
          {models.map((m) => (
            <option key={m.id} value={m.id}>
              {m.name}
            </option>
          ))}
        </select>
      </label>
      <LoraPicker />
      <div className="row">
        <label>
          Seed
          <input
            data-testid="seed"
            type="number"
            min={0}
            max={GENERATE_LIMITS.maxSeed}
            value={settings.seed}
            onChange={(e) => {
              const v = Number(e.target.value);
              if (isValidSeed(v)) updateSettings({ seed: v });
            }}
          />
        </label>
        <button type="button" onClick={() => updateSettings({ seed: Math.floor(Math.random() * (GENERATE_LIMITS.maxSeed + 1)) })} title="Random seed">
          Random
        </button>
      </div>
      <StepsSlider />
      <TimestepsField text={settings.timesteps} error={check.ok ? null : check.message} list={check.ok ? check.list : null} />
      <label>
        Guidance scale{preset ? ` (LCM-LoRA: ${preset.guidanceRange[0]}–${preset.guidanceRange[1]})` : ''}
        <input
          data-testid="guidance"
          type="number"
          min={preset ? preset.guidanceRange[0] : GENERATE_LIMITS.minGuidance}
          max={preset ? preset.guidanceRange[1] : GENERATE_LIMITS.maxGuidance}
          step={preset ? 0.1 : 0.5}
          value={settings.guidanceScale}
          onChange={(e) => {
            const v = Number(e.target.value);
            if (Number.isFinite(v) && v >= GENERATE_LIMITS.minGuidance && v <= GENERATE_LIMITS.maxGuidance) updateSettings({ guidanceScale: clampGuidance(v, preset) });
          }}
        />
      </label>
      <label>
        Sampler
        <select
          data-testid="sampler"
          value={settings.sampler}
          onChange={(e) => {
            const sampler = e.target.value;
            const st = useAppStore.getState();
            // The custom list is checked again against the new scheduler (a valid one sets the step count).
            updateSettings({ sampler, ...timestepsPatch(st.settings.timesteps, checkTimesteps(st.settings.timesteps, sampler, st.loaded)) });
            // Live like the slider: the new sampler's image replaces the old one (latest wins).
            if (loaded && !busy) void generate();
          }}
        >
          {samplerOptions().map(([v, l]) => (
            <option key={v} value={v}>
              {l}
              {v === '' && loaded ? ` (${samplerLabel(loaded.schedulerClass)})` : ''}
            </option>
          ))}
        </select>
      </label>
      {fit && (
        <p className={`hint${fit.level === 'broken' ? ' warn' : ''}`} role="status" data-testid="sampler-fit">
          {fit.message}
        </p>
      )}
      {tcd && <StochasticitySlider />}
      <label>
        Execution provider
        <select
          data-testid="provider"
          value={settings.provider}
          onChange={(e) => {
            updateSettings({ provider: e.target.value as 'auto' | 'webgpu' | 'wasm' });
            if (settings.modelId) void loadModel(settings.modelId, { applyDefaults: false });
          }}
        >
          <option value="auto">Auto (WebGPU, else WASM)</option>
          <option value="webgpu">WebGPU</option>
          <option value="wasm">WASM (CPU)</option>
        </select>
      </label>
      <label className="check" title="Decode each step's predicted clean image (x0). Costs one VAE decode per step.">
        <input
          type="checkbox"
          data-testid="show-previews"
          checked={showPreviews}
          onChange={(e) => useAppStore.setState({ showPreviews: e.target.checked, ...(e.target.checked ? {} : { previews: null }) })}
        />
        Show per-step previews (x0 filmstrip)
      </label>
      <div className="row">
        <button
          type="submit"
          data-testid="generate"
          disabled={!loaded || busy || blocked !== null}
          title={blocked ?? 'Generate (Ctrl/Cmd+Enter)'}
          aria-keyshortcuts="Control+Enter Meta+Enter"
          aria-describedby={blocked ? 'generate-blocked' : undefined}
        >
          Generate
        </button>
        <StopButton />
      </div>
      {blocked && (
        <p className="hint warn" id="generate-blocked" data-testid="generate-blocked">
          {blocked}
        </p>
      )}
    </form>
  );
}
