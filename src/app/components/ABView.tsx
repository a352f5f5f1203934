import { useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { RgbaCanvas } from '../compare/RgbaCanvas';
import { selectRun, useAppStore, type RunResult } from '../store';
import { useUiStore } from '../ui/uiStore';

function short(r: RunResult, i: number): string {
  const p = r.params.prompt.length > 40 ? `${r.params.prompt.slice(0, 39)}…` : r.params.prompt || '(empty)';
  return `#${i} ${p} · ${r.modelName} · ${r.params.steps} st · seed ${r.params.seed}`;
}

/**
 * Compare two results: a wipe (B over A, a slider moves the edge) or side by side. Defaults to the two newest
 * interactive runs; either side can be any run of the history.
 */
export function ABView() {
  const runs = useAppStore(useShallow((s) => s.runs.filter((r) => r.source !== 'grid').slice(-24).reverse()));
  const ab = useUiStore((s) => s.ab);
  const [wipe, setWipe] = useState(50);
  const aRun = useAppStore((s) => selectRun(s, ab.a ?? undefined)) ?? runs[1] ?? null;
  const bRun = useAppStore((s) => selectRun(s, ab.b ?? undefined)) ?? runs[0] ?? null;
  if (runs.length < 2 || !aRun || !bRun) {
    return <p className="hint" data-testid="ab-empty">Make two images (change the prompt, seed or steps) to compare them here.</p>;
  }
  const pick = (side: 'a' | 'b', id: string): void => useUiStore.setState((s) => ({ ab: { ...s.ab, [side]: id } }));
  const select = (side: 'a' | 'b', cur: RunResult) => (
    <label>
      {side.toUpperCase()}
      <select data-testid={`ab-${side}`} value={cur.requestId} onChange={(e) => pick(side, e.target.value)}>
        {runs.map((r, i) => (
          <option key={r.requestId} value={r.requestId}>
            {short(r, runs.length - i)}
          </option>
        ))}
      </select>
    </label>
  );
  return (
    <div className="ab" data-testid="ab-view" data-mode={ab.mode} data-a={aRun.requestId} data-b={bRun.requestId}>
      <div className="ab-controls">
        {select('a', aRun)}
        {select('b', bRun)}
        <div role="radiogroup" aria-label="Comparison mode" className="ab-modes">
          {(['wipe', 'side'] as const).map((m) => (
            <label key={m} className="check">
              <input type="radio" name="ab-mode" value={m} checked={ab.mode === m} data-testid={`ab-mode-${m}`} onChange={() => useUiStore.setState((s) => ({ ab: { ...s.ab, mode: m } }))} />
              {m === 'wipe' ? 'Wipe' : 'Side by side'}
            </label>
          ))}
        </div>
      </div>
      {ab.mode === 'wipe' ? (
        <div className="ab-wipe">
          <div className="ab-stack">
            <RgbaCanvas image={aRun.result.image} label={`A: ${aRun.params.prompt}`} testId="ab-canvas-a" />
            <div className="ab-over" style={{ clipPath: `inset(0 0 0 ${wipe}%)` }}>
              <RgbaCanvas image={bRun.result.image} label={`B: ${bRun.params.prompt}`} testId="ab-canvas-b" />
            </div>
            <div className="ab-edge" style={{ left: `${wipe}%` }} aria-hidden="true" />
          </div>
          <input type="range" min={0} max={100} value={wipe} aria-label="Wipe position (A left, B right)" data-testid="ab-wipe" onChange={(e) => setWipe(Number(e.target.value))} />
        </div>
      ) : (
        <div className="ab-side">
          <figure>
            <RgbaCanvas image={aRun.result.image} label={`A: ${aRun.params.prompt}`} testId="ab-canvas-a" />
            <figcaption>A · {aRun.params.steps} st · seed {aRun.params.seed}</figcaption>
          </figure>
          <figure>
            <RgbaCanvas image={bRun.result.image} label={`B: ${bRun.params.prompt}`} testId="ab-canvas-b" />
            <figcaption>B · {bRun.params.steps} st · seed {bRun.params.seed}</figcaption>
          </figure>
        </div>
      )}
    </div>
  );
}
