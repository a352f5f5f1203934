import { formatBytes, type CatalogEntry } from '../../engine';
import { useAppStore } from '../store';
import { describeSize, formatEta, formatPercent, formatSpeed } from './format';
import { cancelDownload, startDownload, useCachedModel } from './libraryBridge';
import { useLibraryStore, type DownloadState } from './libraryStore';
import { samplerLabelFor } from '../../export/metadata';

/** The catalog's downloadable models with size, precision, license and requirements, and their download state. */
export function CatalogList() {
  const catalog = useLibraryStore((s) => s.catalog);
  const catalogError = useLibraryStore((s) => s.catalogError);
  const remote = catalog.filter((e) => e.kind === 'remote');
  return (
    <div className="catalog" data-testid="catalog">
      {catalogError && (
        <div className="error" role="alert" data-testid="catalog-error">
          Could not read the model catalog: {catalogError}
        </div>
      )}
      {remote.length === 0 && !catalogError && <p className="muted">No downloadable models in the catalog.</p>}
      <ul className="catalog-list">
        {remote.map((e) => (
          <CatalogItem key={e.id} entry={e} />
        ))}
      </ul>
    </div>
  );
}

function CatalogItem({ entry }: { entry: CatalogEntry }) {
  const download = useLibraryStore((s) => s.downloads[entry.id]);
  const stored = useLibraryStore((s) => s.cached?.models.find((m) => m.id === entry.id));
  const gpu = useLibraryStore((s) => s.gpu);
  const loadedId = useAppStore((s) => s.loaded?.id);
  const loadingId = useAppStore((s) => (s.loading ? s.settings.modelId : undefined));
  const downloading = download?.status === 'downloading';
  const complete = stored?.complete === true;
  const partial = !!stored && !complete && !downloading;
  const state = downloading ? 'downloading' : complete ? 'cached' : partial ? 'partial' : 'remote';
  const needsF16 = entry.requiredFeatures.includes('shader-f16');
  return (
    <li className="catalog-item" data-testid={`library-entry-${entry.id}`} data-state={state}>
      <div className="catalog-head">
        <strong>{entry.name}</strong>
        <span className="muted"> {entry.source.type === 'hf' ? entry.source.repo : ''}</span>
      </div>
      <dl className="catalog-facts">
        <dt>Download</dt>
        <dd data-testid={`size-${entry.id}`}>{describeSize(entry)}</dd>
        <dt>Precision</dt>
        <dd>
          {entry.precision} weights, {entry.ioPrecision} inputs/outputs
        </dd>
        <dt>Default</dt>
        <dd>
          {entry.resolution.width}×{entry.resolution.height}, {samplerLabelFor(entry.sampler.schedulerClass)} {entry.sampler.steps} step
          {entry.sampler.steps === 1 ? '' : 's'}, guidance {entry.sampler.guidanceScale}
        </dd>
        <dt>Needs</dt>
        <dd>
          ~{formatBytes(entry.approxVramMB * 1024 * 1024)} GPU memory
          {entry.requiredFeatures.length > 0 && `, WebGPU ${entry.requiredFeatures.join(', ')}`}
          {needsF16 && gpu.checked && !gpu.shaderF16 && (
            <span className="warn" data-testid={`f16-warning-${entry.id}`}>
              {' '}
              — this browser's GPU has no shader-f16: the model would run on WASM (CPU, very slow)
            </span>
          )}
        </dd>
        <dt>License</dt>
        <dd>
          {entry.licenseUrl ? (
            <a href={entry.licenseUrl} target="_blank" rel="noreferrer noopener">
              {entry.license}
            </a>
          ) : (
            entry.license
          )}
        </dd>
      </dl>
      <div className="row">
        {!complete && !downloading && (
          <button type="button" data-testid={`download-${entry.id}`} onClick={() => void startDownload(entry.id)}>
            {partial ? `Resume download (${formatBytes(stored!.bytes)} stored)` : 'Download'}
          </button>
        )}
        {downloading && (
          <button type="button" data-testid={`cancel-download-${entry.id}`} onClick={() => cancelDownload(entry.id)}>
            Cancel download
          </button>
        )}
        {complete && (
          <button
            type="button"
            data-testid={`use-${entry.id}`}
            disabled={loadingId === entry.id}
            onClick={() => void useCachedModel(entry.id)}
          >
            {loadedId === entry.id ? 'Loaded' : 'Use'}
          </button>
        )}
        {complete && <span className="ok">Cached ({formatBytes(stored!.bytes)})</span>}
      </div>
      {download && <DownloadView id={entry.id} d={download} />}
    </li>
  );
}

function DownloadView({ id, d }: { id: string; d: DownloadState }) {
  const o = d.overall;
  const files = Object.entries(d.files);
  return (
    <div className="download" data-testid={`download-state-${id}`} data-status={d.status}>
      {o && (
        <div
          className="download-overall"
          data-testid={`download-overall-${id}`}
          data-loaded={o.loaded}
          data-total={o.total}
          data-percent={o.percent}
        >
          <progress max={100} value={o.percent} />
          <span>
            {formatPercent(o.percent)} · {formatBytes(o.loaded)} of {formatBytes(o.total)} · file {Math.min(o.filesDone + (o.filesDone < o.filesTotal ? 1 : 0), o.filesTotal)}/
            {o.filesTotal}
            {d.status === 'downloading' && (
              <>
                {' '}
                · {formatSpeed(o.bytesPerSec)} · {formatEta(o.etaSec)} left
              </>
            )}
          </span>
        </div>
      )}
      {d.status === 'downloading' && !o && <span className="muted">Asking the hub for file sizes…</span>}
      {d.status === 'done' && (
        <span className="ok" data-testid={`download-done-${id}`}>
          Downloaded{d.bytesFetched !== null ? ` (${formatBytes(d.bytesFetched)} over the network` : ''}
          {d.bytesFetched !== null && d.finishedAt !== null
            ? `, ${formatSpeed((d.bytesFetched / Math.max(1, d.finishedAt - d.startedAt)) * 1000)} average)`
            : d.bytesFetched !== null
              ? ')'
              : ''}
          .
        </span>
      )}
      {d.status === 'cancelled' && <span className="muted" data-testid={`download-cancelled-${id}`}>Cancelled; finished chunks are kept, resume any time.</span>}
      {d.status === 'error' && d.error && (
        <div className="error" role="alert" data-testid={`download-error-${id}`} data-code={d.error.code}>
          <strong>Download failed{d.error.file ? ` (${d.error.file})` : ''}:</strong> {d.error.message}
        </div>
      )}
      {files.length > 0 && (
        <details className="download-files" open={d.status === 'downloading'}>
          <summary>Files</summary>
          <ul>
            {files.map(([path, f]) => (
              <li key={path} data-testid={`download-file-${id}-${path}`} data-status={f.status} data-loaded={f.loaded}>
                <code>{path}</code> {f.status === 'cached' ? 'already stored' : `${formatBytes(f.loaded)} / ${formatBytes(f.total)}`}{' '}
                <progress max={Math.max(1, f.total)} value={f.loaded} />
              </li>
            ))}
          </ul>
        </details>
      )}
    </div>
  );
}
