import { formatBytes } from '../../engine';
import { deleteCached, refreshStorage } from './libraryBridge';
import { useLibraryStore } from './libraryStore';

/** Cached models with their sizes, the origin's quota, and delete. */
export function StoragePanel() {
  const cached = useLibraryStore((s) => s.cached);
  const error = useLibraryStore((s) => s.storageError);
  const catalog = useLibraryStore((s) => s.catalog);
  const nameOf = (id: string) => catalog.find((e) => e.id === id)?.name ?? id;
  return (
    <div className="storage" data-testid="storage">
      {error && (
        <div className="error" role="alert">
          Storage: {error}
        </div>
      )}
      {cached && (
        <p className="muted" data-testid="storage-estimate">
          {cached.storeKind === 'opfs' ? 'Origin private file system' : cached.storeKind === 'cache' ? 'Cache Storage' : 'Memory only (lost on reload)'}:{' '}
          {formatBytes(cached.estimate.usage)} used of {formatBytes(cached.estimate.quota)} available to this site.
        </p>
      )}
      {cached && cached.models.length === 0 && <p className="muted" data-testid="storage-empty">No models cached.</p>}
      <ul className="storage-list">
        {cached?.models.map((m) => (
          <li key={m.id} data-testid={`stored-${m.id}`} data-complete={m.complete} data-bytes={m.bytes}>
            <strong>{nameOf(m.id)}</strong> {formatBytes(m.bytes)} {m.complete ? '' : '(partial)'}{' '}
            <button type="button" data-testid={`delete-${m.id}`} onClick={() => void deleteCached(m.id)}>
              Delete
            </button>
          </li>
        ))}
      </ul>
      <button type="button" className="link" onClick={() => void refreshStorage()}>
        Refresh
      </button>
    </div>
  );
}
