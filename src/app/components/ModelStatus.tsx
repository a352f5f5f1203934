import { formatBytes, type LoadProgress } from '../../engine';
import { cancelAll } from '../engineBridge';
import { useAppStore } from '../store';

/** Execution-provider badge, load progress and load errors. */
export function ModelStatus() {
  const loaded = useAppStore((s) => s.loaded);
  const loading = useAppStore((s) => s.loading);
  const loadingId = useAppStore((s) => s.settings.modelId);
  const loadError = useAppStore((s) => s.loadError);
  const p = loading?.progress;
  return (
    <div className="model-status">
      {loaded && (
        <span className={`badge ep-${loaded.provider}`} data-testid="ep-badge" data-provider={loaded.provider} title={loaded.providerReason}>
          {loaded.provider === 'webgpu' ? 'WebGPU' : 'WASM'}
        </span>
      )}
      {loaded && <span className="reason" data-testid="ep-reason">{loaded.providerReason}</span>}
      {loading && (
        <div className="load-progress" role="status" data-testid="load-progress">
          Loading {loadingId}
          {loading.loras > 0 ? ` + ${loading.loras} LoRA${loading.loras === 1 ? '' : 's'}` : ''}:{' '}
          {p
            ? p.phase === 'fetch'
              ? `file ${Math.min(p.filesDone + 1, p.filesTotal)}/${p.filesTotal} ${p.file} ${formatBytes(p.loaded)}${p.total ? ` / ${formatBytes(p.total)}` : ''}`
              : p.phase === 'merge'
                ? `merging LoRAs into ${p.file} ${formatBytes(p.loaded)}${p.total ? ` / ${formatBytes(p.total)}` : ''}`
                : `creating session ${p.sessionsDone + 1}/${p.sessionsTotal} (${p.file})`
            : 'starting…'}
          <progress max={1} value={loadFraction(p)} />
          <span data-testid="load-eta">{loadEta(loadFraction(p), performance.now() - loading.startedAt)}</span>
          <button type="button" data-testid="cancel-load" onClick={cancelAll} title="Stop loading (the previous model stays)">
            Cancel
          </button>
        </div>
      )}
      {loadError && (
        <div className="error" role="alert" data-testid="load-error">
          <strong>Could not load the model{loadError.file ? ` (${loadError.file})` : ''}:</strong> {loadError.message}
          {loaded && <span> The previous model ({loaded.name}) is still loaded.</span>}
          <button onClick={() => useAppStore.setState({ loadError: null })} aria-label="Dismiss">×</button>
        </div>
      )}
    </div>
  );
}

/** Share of the load done: files read, then sessions created (each counts as one step). */
export function loadFraction(p: LoadProgress | null | undefined): number {
  if (!p) return 0;
  const steps = p.filesTotal + p.sessionsTotal;
  return p.phase === 'fetch' ? p.filesDone / steps : (p.filesTotal + p.sessionsDone) / steps;
}

/** "~12 s left" from the elapsed time and the share done; empty until the estimate means something. */
export function loadEta(fraction: number, elapsedMs: number): string {
  if (fraction < 0.05 || fraction >= 1 || elapsedMs < 500) return '';
  const left = (elapsedMs * (1 - fraction)) / fraction / 1000;
  return left < 60 ? `~${Math.ceil(left)} s left` : `~${Math.ceil(left / 60)} min left`;
}
