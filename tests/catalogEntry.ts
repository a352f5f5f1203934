/**
 * A minimal remote catalog entry for download/store tests (64x64 fp32, DDIM 4 steps, tokenizer in the model repo);
 * `over` replaces any field (id, source, files, ...).
 */
import type { CatalogEntry } from '../src/engine/catalog/schema';

export function testCatalogEntry(over: Partial<CatalogEntry> = {}): CatalogEntry {
  return {
    id: 'test-model',
    name: 'Test model',
    kind: 'remote',
    source: { type: 'hf', repo: 'test/model', revision: 'main' },
    files: [],
    precision: 'fp32',
    ioPrecision: 'fp32',
    resolution: { width: 64, height: 64 },
    latentSize: { width: 8, height: 8, channels: 4 },
    requiredFeatures: [],
    sampler: { schedulerClass: 'DDIMScheduler', steps: 4, stepRange: [1, 8], guidanceScale: 1, guidanceRange: [1, 1] },
    tokenizer: { source: 'model', path: 'tokenizer', padTokenId: null, maxLength: 77 },
    license: 'MIT',
    approxVramMB: 1,
    notes: [],
    ...over,
  };
}
