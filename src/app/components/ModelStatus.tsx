import { useAppStore } from '../store';

/** Execution-provider badge, load progress and load errors. */
export function ModelStatus() {
  const loaded = useAppStore((s) => s.loaded);
  const loading = useAppStore((s) => s.loading);
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
          Loading {loading.modelId}:{' '}
          {p
            ? p.phase === 'fetch'
              ? `file ${Math.min(p.filesDone + 1, p.filesTotal)}/${p.filesTotal} ${p.file} ${formatBytes(p.loaded)}${p.total ? ` / ${formatBytes(p.total)}` : ''}`
              : `creating session ${p.sessionsDone + 1}/${p.sessionsTotal} (${p.file})`
            : 'starting…'}
          <progress
            max={1}
            value={p ? (p.phase === 'fetch' ? p.filesDone / (p.filesTotal + p.sessionsTotal) : (p.filesTotal + p.sessionsDone) / (p.filesTotal + p.sessionsTotal)) : 0}
          />
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

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}
