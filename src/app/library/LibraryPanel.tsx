import { useEffect } from 'react';
import { CatalogList } from './CatalogList';
import { CustomSource, FolderImport } from './FolderImport';
import { initLibrary, loadCatalog, refreshStorage } from './libraryBridge';
import { useLibraryStore } from './libraryStore';
import { StoragePanel } from './StoragePanel';

/** Model library: downloadable catalog models, local storage, folder import and custom sources. */
export function LibraryPanel() {
  const hubWarning = useLibraryStore((s) => s.hubWarning);
  const hubBase = useLibraryStore((s) => s.hubBase);
  useEffect(() => {
    initLibrary();
    void loadCatalog();
    void refreshStorage();
  }, []);
  return (
    <section className="library" data-testid="library" aria-label="Model library">
      <h2>Model library</h2>
      {hubWarning && (
        <div className="warn" role="alert">
          {hubWarning}
        </div>
      )}
      <p className="muted" data-testid="hub-base">
        Downloads from {hubBase}; resumable, stored in this browser.
      </p>
      <div className="library-grid">
        <div>
          <h3>Download</h3>
          <CatalogList />
        </div>
        <div>
          <h3>Stored models</h3>
          <StoragePanel />
          <h3>From disk</h3>
          <FolderImport />
          <h3>Custom source</h3>
          <CustomSource />
        </div>
      </div>
    </section>
  );
}
