/** The pipelines this build serves, as the benchmark sees them: shipped models first, fixtures as stand-ins. */
import { discoverModels, exists } from '../models';
import type { BenchPipeline } from './matrix';

const BASE = import.meta.env.BASE_URL;

/** Shipped pipelines (models/catalog.json) plus the random-weight fixtures when they are served. */
export async function benchPipelines(): Promise<BenchPipeline[]> {
  const out: BenchPipeline[] = [];
  for (const m of await discoverModels()) {
    if (m.kind !== 'shipped') continue;
    out.push({ id: m.id, name: m.name, baseUrl: m.baseUrl, fixture: false });
  }
  for (const id of ['tiny', 'tiny-lcm']) {
    const baseUrl = `${BASE}fixtures/${id}/`;
    if (await exists(`${baseUrl}model_index.json`)) out.push({ id: `fixture-${id}`, name: `fixture ${id} (random weights)`, baseUrl, fixture: true });
  }
  return out;
}
