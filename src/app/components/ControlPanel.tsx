import { GENERATE_LIMITS, isValidSeed } from '../../engine';
import { cancelAll, generate, loadModel } from '../engineBridge';
import { updateSettings, useAppStore } from '../store';
import { samplerLabel } from '../../schedulers';
import { PromptBox } from '../prompt/PromptBox';
import { samplerOptions } from './samplerOptions';
import { StepsSlider } from './StepsSlider';

export function ControlPanel() {
  const settings = useAppStore((s) => s.settings);
  const models = useAppStore((s) => s.models);
  const loaded = useAppStore((s) => s.loaded);
  const loading = useAppStore((s) => s.loading);
  const running = useAppStore((s) => s.running);
  const showPreviews = useAppStore((s) => s.showPreviews);
  const busy = loading !== null;
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
      <label>
        Guidance scale
        <input
          data-testid="guidance"
          type="number"
          min={GENERATE_LIMITS.minGuidance}
          max={GENERATE_LIMITS.maxGuidance}
          step={0.5}
          value={settings.guidanceScale}
          onChange={(e) => {
            const v = Number(e.target.value);
            if (Number.isFinite(v) && v >= GENERATE_LIMITS.minGuidance && v <= GENERATE_LIMITS.maxGuidance) updateSettings({ guidanceScale: v });
          }}
        />
      </label>
      <label>
        Sampler
        <select
          data-testid="sampler"
          value={settings.sampler}
          onChange={(e) => {
            updateSettings({ sampler: e.target.value });
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
        <button type="submit" data-testid="generate" disabled={!loaded || busy} title="Generate (Ctrl/Cmd+Enter)" aria-keyshortcuts="Control+Enter Meta+Enter">
          Generate
        </button>
        <button type="button" data-testid="cancel" disabled={!running && !loading} onClick={cancelAll}>
          Stop
        </button>
      </div>
    </form>
  );
}
