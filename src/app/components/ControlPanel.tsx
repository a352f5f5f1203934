import { cancelAll, generate, loadModel } from '../engineBridge';
import { updateSettings, useAppStore } from '../store';
import { StepsSlider } from './StepsSlider';

const SAMPLERS: Array<[string, string]> = [
  ['', "Model's own"],
  ['DDIMScheduler', 'DDIM'],
  ['DDPMScheduler', 'DDPM'],
  ['EulerDiscreteScheduler', 'Euler'],
  ['EulerAncestralDiscreteScheduler', 'Euler a'],
  ['LCMScheduler', 'LCM'],
];

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
      <label>
        Prompt
        <textarea
          data-testid="prompt"
          rows={3}
          value={settings.prompt}
          maxLength={1000}
          onChange={(e) => updateSettings({ prompt: e.target.value })}
        />
      </label>
      <label>
        Model
        <select
          data-testid="model"
          value={settings.modelId}
          onChange={(e) => {
            updateSettings({ modelId: e.target.value });
            void loadModel(e.target.value);
          }}
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
            max={4294967295}
            value={settings.seed}
            onChange={(e) => {
              const v = Number(e.target.value);
              if (Number.isInteger(v) && v >= 0 && v <= 4294967295) updateSettings({ seed: v });
            }}
          />
        </label>
        <button type="button" onClick={() => updateSettings({ seed: Math.floor(Math.random() * 2 ** 32) })} title="Random seed">
          Random
        </button>
      </div>
      <StepsSlider />
      <label>
        Guidance scale
        <input
          data-testid="guidance"
          type="number"
          min={0}
          max={30}
          step={0.5}
          value={settings.guidanceScale}
          onChange={(e) => {
            const v = Number(e.target.value);
            if (Number.isFinite(v) && v >= 0 && v <= 30) updateSettings({ guidanceScale: v });
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
          {SAMPLERS.map(([v, l]) => (
            <option key={v} value={v}>
              {l}
              {v === '' && loaded ? ` (${loaded.schedulerClass.replace('Scheduler', '')})` : ''}
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
        <button type="submit" data-testid="generate" disabled={!loaded || busy}>
          Generate
        </button>
        <button type="button" data-testid="cancel" disabled={!running && !loading} onClick={cancelAll}>
          Stop
        </button>
      </div>
    </form>
  );
}
