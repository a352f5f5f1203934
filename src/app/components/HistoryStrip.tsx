import { useShallow } from 'zustand/react/shallow';
import { RgbaCanvas } from '../compare/RgbaCanvas';
import { loadModel } from '../engineBridge';
import { updateSettings, useAppStore, type RunResult } from '../store';
import { useUiStore } from '../ui/uiStore';
import { formatLoraList, sameLoraSet } from '../lora/loraSet';
import { useLoraStore } from '../lora/loraStore';

/** Recent interactive results shown in the strip, newest first. */
export const HISTORY_LENGTH = 24;

function recent(runs: readonly RunResult[]): RunResult[] {
  const out: RunResult[] = [];
  for (let i = runs.length - 1; i >= 0 && out.length < HISTORY_LENGTH; i--) if (runs[i].source !== 'grid') out.push(runs[i]);
  return out;
}

/**
 * Show a past run and restore its settings (prompt, seed, steps, timesteps, sampler, gamma, guidance); its model is
 * loaded if another, with its LoRAs if they differ from the applied ones.
 */
export function restoreRun(run: RunResult): void {
  useUiStore.setState({ shownRunId: run.requestId });
  const { loaded, settings } = useAppStore.getState();
  const { prompt, negativePrompt, seed, steps, guidanceScale, sampler, eta, rng, timesteps, gamma } = run.params;
  const loras = run.params.loras ?? [];
  updateSettings({ prompt, negativePrompt, seed, steps, guidanceScale, sampler, eta, rng, timesteps, gamma });
  if (loaded?.id !== run.modelId || !sameLoraSet(loras, settings.loras)) {
    useLoraStore.setState({ draft: null });
    void loadModel(run.modelId, { applyDefaults: false, generateAfter: false, loras, keep: { steps: true, guidanceScale: true, sampler: true } });
  }
}

function label(r: RunResult): string {
  const loras = r.params.loras ?? [];
  return `${r.params.prompt || '(empty prompt)'} · ${r.modelName}${loras.length ? ` + ${formatLoraList(loras)}` : ''} · ${r.params.steps} step${r.params.steps === 1 ? '' : 's'} · seed ${r.params.seed}`;
}

/**
 * A strip of recent results. Click one to show it and restore its settings; with the strip focused, Left/Right
 * (and Home/End) move through it the same way. A listbox for screen readers.
 */
export function HistoryStrip() {
  const runs = useAppStore(useShallow((s) => recent(s.runs)));
  const shownId = useUiStore((s) => s.shownRunId);
  if (!runs.length) return null;
  const current = shownId && runs.some((r) => r.requestId === shownId) ? shownId : runs[0].requestId;
  const index = runs.findIndex((r) => r.requestId === current);
  return (
    <section className="history" aria-label="History">
      <h3>History</h3>
      <ol
        className="history-strip"
        role="listbox"
        aria-label="Recent results (arrow keys to move)"
        aria-orientation="horizontal"
        aria-activedescendant={`hist-${current}`}
        tabIndex={0}
        data-testid="history"
        onKeyDown={(e) => {
          const to =
            e.key === 'ArrowRight' || e.key === 'ArrowDown' ? index + 1 : e.key === 'ArrowLeft' || e.key === 'ArrowUp' ? index - 1 : e.key === 'Home' ? 0 : e.key === 'End' ? runs.length - 1 : null;
          if (to === null) return;
          e.preventDefault();
          e.stopPropagation();
          const r = runs[Math.max(0, Math.min(runs.length - 1, to))];
          if (r.requestId !== current) restoreRun(r);
        }}
      >
        {runs.map((r) => (
          <li
            key={r.requestId}
            id={`hist-${r.requestId}`}
            role="option"
            aria-selected={r.requestId === current}
            className={r.requestId === current ? 'on' : ''}
            data-request={r.requestId}
            title={label(r)}
            onClick={() => restoreRun(r)}
          >
            <RgbaCanvas image={r.result.image} label={label(r)} />
            <span>
              {r.params.steps}·{r.params.seed}
              {r.params.loras?.length ? <abbr title={formatLoraList(r.params.loras)}>+L</abbr> : null}
            </span>
          </li>
        ))}
      </ol>
    </section>
  );
}
