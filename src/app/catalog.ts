/**
 * models/catalog.json, fetched and validated once for the whole app: the picker's shipped models (models.ts) and the
 * library's remote ones (library/libraryBridge.ts) read the same validated entries.
 */
import { validateCatalog, type Catalog } from '../engine';

const BASE = import.meta.env.BASE_URL;

let catalog: Promise<Catalog> | null = null;

/** The validated catalog; rejects with the HTTP status or the CatalogError listing every problem. */
export function readCatalog(): Promise<Catalog> {
  catalog ??= (async () => {
    const r = await fetch(`${BASE}models/catalog.json`);
    if (!r.ok) throw new Error(`HTTP ${r.status} for models/catalog.json`);
    return validateCatalog(await r.json());
  })();
  return catalog;
}
