import { useRef } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { formatBytes, type LoadProgress, type LoraMergeResult } from '../../engine';
import { loadFraction } from '../components/ModelStatus';
import { loadModel } from '../engineBridge';
import { useAppStore } from '../store';
import { addLora, applyLoras, cancelApply, draftPending, pickLoraFile, removeLora, revertLoras, setFastLcm, setLoraScale, shippedFor } from './loraBridge';
import { formatLoraScale, LORA_SCALE_LIMITS, MAX_LORAS, type LoraSetting } from './loraSet';
import { loraName, useLoraStore } from './loraStore';

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** What Apply will do, as its label: "Apply: merge 2 LoRAs into the U-Net", "Apply: back to the base model". */
function applyLabel(draft: readonly LoraSetting[]): string {
  return draft.length ? `Apply: merge ${plural(draft.length, 'LoRA')} into the U-Net` : 'Apply: back to the base model';
}

/**
 * What an apply is doing, from its load progress: reading the U-Net (or downloading a catalog LoRA), merging (the
 * bytes of weights written so far), or making the U-Net's session.
 */
export function applyStep(p: LoadProgress | null): string {
  if (!p) return 'starting…';
  if (p.phase === 'merge') return `merged ${formatBytes(p.loaded)}${p.total ? ` of ${formatBytes(p.total)}` : ''} of weights`;
  if (p.phase === 'session') return `creating the session of ${p.file}…`;
  return `reading ${p.file} ${formatBytes(p.loaded)}${p.total ? ` / ${formatBytes(p.total)}` : ''}`;
}

/** The share done of the current phase of an apply (the merge by weight bytes, a read by file bytes), 0..1. */
export function applyFraction(p: LoadProgress | null): number {
  if (!p) return 0;
  if (p.phase === 'merge' || p.phase === 'fetch') return p.total ? Math.min(1, p.loaded / p.total) : loadFraction(p);
  return loadFraction(p);
}

/** One adapter of the draft: name, strength slider and number, remove. */
function LoraRow({ lora, disabled }: { lora: LoraSetting; disabled: boolean }) {
  const shipped = useLoraStore((s) => s.shipped.find((l) => l.id === lora.id));
  const name = loraName(lora.id);
  const { min, max, step } = LORA_SCALE_LIMITS;
  const onScale = (v: number): void => setLoraScale(lora.id, v);
  return (
    <li className="lora-row" data-testid={`lora-row-${lora.id}`}>
      <span className="lora-name" title={shipped?.description || lora.id}>
        {name}
        {shipped ? <small className="muted"> · {shipped.kind}</small> : <small className="muted"> · file</small>}
      </span>
      <input
        type="range"
        aria-label={`${name} strength`}
        data-testid={`lora-scale-range-${lora.id}`}
        min={min}
        max={max}
        step={step}
        value={lora.scale}
        disabled={disabled}
        onChange={(e) => onScale(Number(e.target.value))}
      />
      <input
        type="number"
        aria-label={`${name} strength (number)`}
        data-testid={`lora-scale-${lora.id}`}
        className="lora-scale"
        min={min}
        max={max}
        step={step}
        value={lora.scale}
        disabled={disabled}
        onChange={(e) => onScale(Number(e.target.value))}
        onKeyDown={(e) => {
          // Enter applies the set rather than submitting the generate form.
          if (e.key === 'Enter') {
            e.preventDefault();
            void applyLoras();
          }
        }}
      />
      <button type="button" data-testid={`lora-remove-${lora.id}`} disabled={disabled} onClick={() => removeLora(lora.id)} aria-label={`Remove ${name}`} title={`Remove ${name}`}>
        ×
      </button>
    </li>
  );
}

/** The merge report of the loaded model: time, weights changed, and per adapter its keys matched and left over. */
function MergeReport({ lora }: { lora: LoraMergeResult }) {
  return (
    <div className="lora-report" data-testid="lora-report">
      <p className="note-ok">
        Merged {plural(lora.adapters.length, 'LoRA')} into the U-Net in <span data-testid="lora-merge-ms">{lora.ms.toFixed(0)}</span> ms ·{' '}
        {plural(lora.weightsChanged, 'weight')} changed.
      </p>
      <ul className="hint">
        {lora.adapters.map((a) => (
          <li key={a.name} data-testid={`lora-report-${a.name}`}>
            {loraName(a.name)} × {formatLoraScale(a.scale)}: {a.format}, rank {a.rank}, alpha {a.alpha} ·{' '}
            <span data-testid={`lora-matched-${a.name}`}>{a.matched}</span> keys matched, <span data-testid={`lora-unmatched-${a.name}`}>{a.unmatched}</span>{' '}
            unmatched
            {a.textEncoderKeys ? ` · ${plural(a.textEncoderKeys, 'text-encoder key')} not applied (U-Net only)` : ''}
            {a.firstUnmatched ? ` · first unmatched: ${a.firstUnmatched}` : ''}
          </li>
        ))}
      </ul>
    </div>
  );
}

/**
 * The LoRA picker of the generator: shipped LoRAs made for the loaded model and .safetensors files picked from disk
 * (kept for the session), several at once with a strength each (-2..2), applied together by merging them into the
 * U-Net (progress while it runs, then the merge time and matched keys). An LCM-LoRA switches the sampler, steps and
 * guidance to its recommendation ("Fast: LCM-LoRA"), and removing it restores them. Errors show here; the model
 * stays as it was.
 */
export function LoraPicker() {
  const modelId = useAppStore((s) => s.settings.modelId);
  const applied = useAppStore((s) => s.settings.loras);
  const loaded = useAppStore((s) => s.loaded);
  const loading = useAppStore((s) => s.loading);
  const models = useAppStore((s) => s.models);
  const { shipped, files, draft, applying, error, note, preset, indexProblems } = useLoraStore(
    useShallow((s) => ({ shipped: s.shipped, files: s.files, draft: s.draft, applying: s.applying, error: s.error, note: s.note, preset: s.preset, indexProblems: s.indexProblems })),
  );
  const fileInput = useRef<HTMLInputElement>(null);
  const shown = draft ?? applied;
  const pending = draftPending(draft, applied);
  const fitting = shippedFor(modelId, shipped);
  const lcm = fitting.find((l) => l.kind === 'lcm');
  const busy = !loaded || loading !== null;
  const addable = [
    ...fitting.filter((l) => !shown.some((d) => d.id === l.id)).map((l) => ({ id: l.id, label: `${l.name} (default strength ${formatLoraScale(l.defaultScale)})` })),
    ...files.filter((f) => !shown.some((d) => d.id === f.id)).map((f) => ({ id: f.id, label: `${f.id} (your file, ${formatBytes(f.size)})` })),
  ];
  // Shipped LoRAs that are made for other models: say which, with a way to get there (no dead end).
  const otherBases = fitting.length === 0 ? [...new Set(shipped.flatMap((l) => l.base))].filter((b) => models.some((m) => m.id === b)) : [];
  const merging = loading && (applying || loading.loras > 0);
  return (
    <fieldset className="lora-picker" data-testid="lora-picker">
      <legend>LoRA</legend>
      {lcm && (
        <label className="check" title={lcm.description}>
          <input type="checkbox" data-testid="lora-fast-lcm" checked={shown.some((l) => l.id === lcm.id)} disabled={busy} onChange={(e) => void setFastLcm(e.target.checked)} />
          Fast: LCM-LoRA ({lcm.recommended ? `LCM, ${lcm.recommended.steps} steps, guidance ${lcm.recommended.guidance_scale}` : 'few steps'})
        </label>
      )}
      {note && (
        <p className="hint" data-testid="lora-note">
          {note}
        </p>
      )}
      {shown.length > 0 ? (
        <ul className="lora-list" data-testid="lora-list">
          {shown.map((l) => (
            <LoraRow key={l.id} lora={l} disabled={busy && !loading} />
          ))}
        </ul>
      ) : (
        <p className="hint" data-testid="lora-empty">
          No LoRA: the base model. {fitting.length ? 'Add one below, then Apply.' : ''}
        </p>
      )}
      <div className="row wrap">
        {addable.length > 0 && shown.length < MAX_LORAS && (
          <label>
            Add a LoRA
            <select
              data-testid="lora-add"
              value=""
              onChange={(e) => {
                if (e.target.value) addLora(e.target.value);
              }}
            >
              <option value="">Choose…</option>
              {addable.map((a) => (
                <option key={a.id} value={a.id}>
                  {a.label}
                </option>
              ))}
            </select>
          </label>
        )}
        <button type="button" data-testid="lora-pick-file" onClick={() => fileInput.current?.click()} title="A LoRA in .safetensors (PEFT/diffusers or kohya key names) for the loaded model">
          Add LoRA file…
        </button>
        <input
          ref={fileInput}
          type="file"
          accept=".safetensors"
          hidden
          data-testid="lora-file"
          onChange={(e) => {
            const f = e.target.files?.[0];
            e.target.value = '';
            if (f) void pickLoraFile(f);
          }}
        />
      </div>
      {otherBases.length > 0 && (
        <p className="hint" data-testid="lora-other-base">
          The shipped LoRAs are made for {otherBases.join(', ')}.{' '}
          {otherBases.map((b) => (
            <button key={b} type="button" disabled={busy} onClick={() => void loadModel(b)}>
              Use {models.find((m) => m.id === b)?.name ?? b}
            </button>
          ))}
        </p>
      )}
      {pending && (
        <div className="row">
          <button type="button" data-testid="lora-apply" disabled={busy} onClick={() => void applyLoras()}>
            {applyLabel(shown)}
          </button>
          <button type="button" data-testid="lora-revert" disabled={applying} onClick={revertLoras}>
            Revert
          </button>
        </div>
      )}
      {merging && (
        <div role="status" data-testid="lora-progress" className="hint">
          {loading.loras > 0 ? `Merging ${plural(loading.loras, 'LoRA')} into the U-Net` : 'Going back to the base U-Net'}
          {': '}
          <span data-testid="lora-progress-step">{applyStep(loading.progress)}</span>
          <progress max={1} value={applyFraction(loading.progress)} />
          {applying && (
            <button type="button" data-testid="lora-cancel" onClick={cancelApply} title="Stop this apply (the model stays as it was)">
              Cancel
            </button>
          )}
        </div>
      )}
      {!merging && loaded?.lora && applied.length > 0 && <MergeReport lora={loaded.lora} />}
      {preset && (
        <p className="hint" data-testid="lora-guidance-range">
          Guidance is kept within {preset.guidanceRange[0]}–{preset.guidanceRange[1]} while the LCM-LoRA is applied.
        </p>
      )}
      {error && (
        <div className="error" role="alert" data-testid="lora-error">
          <strong>LoRA not applied:</strong> {error.message}
          {loaded && <span> {loaded.name} is unchanged{applied.length ? ` (still with ${applied.map((l) => loraName(l.id)).join(', ')})` : ''}.</span>}
          <button type="button" onClick={() => useLoraStore.setState({ error: null })} aria-label="Dismiss">
            ×
          </button>
        </div>
      )}
      {indexProblems.length > 0 && <p className="hint warn">{indexProblems.join(' ')}</p>}
    </fieldset>
  );
}
