/**
 * Pick the model store by priority: OPFS, then Cache Storage, then memory. A backend that throws when probed
 * (Cache API in some iframes and private windows, OPFS in Firefox private mode) is skipped with a warning, the way
 * transformers.js keeps going without its cache.
 */

import { CacheStore } from './cacheStore';
import { MemoryStore } from './memoryStore';
import { OpfsStore } from './opfsStore';
import type { BrowserStoreKind, ModelStore } from './store';

export interface SelectStoreOptions {
  prefer?: BrowserStoreKind[];
  onWarning?: (message: string) => void;
}

export async function selectModelStore(opts: SelectStoreOptions = {}): Promise<ModelStore> {
  const order = opts.prefer ?? ['opfs', 'cache', 'memory'];
  for (const kind of order) {
    try {
      if (kind === 'opfs' && OpfsStore.isAvailable()) {
        const s = new OpfsStore();
        await s.listModels(); // probe: getDirectory() rejects where OPFS is blocked
        return s;
      }
      if (kind === 'cache' && CacheStore.isAvailable()) {
        const s = new CacheStore();
        await s.listModels();
        return s;
      }
      if (kind === 'memory') {
        opts.onWarning?.('No persistent storage (OPFS and Cache Storage unavailable): models will be downloaded again after a reload');
        return new MemoryStore();
      }
    } catch (err) {
      opts.onWarning?.(`Model storage "${kind}" unavailable (${(err as Error)?.message ?? String(err)}); trying the next one`);
    }
  }
  return new MemoryStore();
}
