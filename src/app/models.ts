import type { CatalogEntry, ModelRef } from '../engine';
import { readCatalog } from './catalog';

/**
 * The model list the UI offers: the shipped pipelines from models/catalog.json (served by the app itself),
 * falling back to a scan of known folder names when the catalog is missing.
 */
export interface ModelChoice {
  id: string;
  name: string;
  baseUrl: string;
  description: string;
  defaultSteps: number | null;
  guidanceScale: number | null;
  kind: 'shipped' | 'remote' | 'fixture' | 'local';
  /** How to load it when it is not a plain URL (downloaded: 'cached', picked folder: 'files', custom source). */
  ref?: ModelRef;
}

/** How the engine loads (or describes) a model choice: its own ref, else its folder URL. */
export function modelRefOf(choice: ModelChoice): ModelRef {
  return choice.ref ?? { id: choice.id, name: choice.name, kind: 'url', baseUrl: choice.baseUrl };
}

const BASE = import.meta.env.BASE_URL;

/** Shipped pipelines, in the order the UI lists them. The first one that exists is the default. */
const SHIPPED_IDS = [
  'fewstep-turbo',
  'fewstep-lcm',
  'fewstep-teacher',
  'fewstep-progressive-8',
  'fewstep-progressive-4',
  'fewstep-progressive-2',
  'fewstep-progressive-1',
  'fewstep-direct',
  'fewstep-ict',
];

/** Whether the app serves `url` (a HEAD that is not the SPA's HTML fallback). */
export async function exists(url: string): Promise<boolean> {
  try {
    const r = await fetch(url, { method: 'HEAD' });
    return r.ok && !(r.headers.get('content-type') ?? '').includes('text/html');
  } catch {
    return false;
  }
}

export async function discoverModels(): Promise<ModelChoice[]> {
  const out: ModelChoice[] = [];
  try {
    const { models } = await readCatalog();
    const shipped = models.filter((e): e is CatalogEntry & { source: { type: 'local' } } => e.kind === 'shipped' && e.source.type === 'local');
    const baseUrlOf = (e: (typeof shipped)[number]): string => `${BASE}${e.source.path.replace(/^\/+/, '').replace(/\/?$/, '/')}`;
    // The catalog may list pipelines a checkout has not built yet: offer only those whose files are served.
    const present = await Promise.all(shipped.map((e) => exists(`${baseUrlOf(e)}model_index.json`)));
    shipped.forEach((e, i) => {
      if (!present[i]) return;
      out.push({
        id: e.id,
        name: e.name,
        baseUrl: baseUrlOf(e),
        description: e.notes.join(' '),
        defaultSteps: e.sampler.steps,
        guidanceScale: e.sampler.guidanceScale,
        kind: 'shipped',
      });
    });
    out.sort((a, b) => SHIPPED_IDS.indexOf(a.id) - SHIPPED_IDS.indexOf(b.id));
  } catch {
    // A missing or invalid catalog (the library shows why): fall through to the scan.
  }
  if (out.length === 0) {
    for (const id of SHIPPED_IDS) {
      const baseUrl = `${BASE}models/${id}/`;
      if (await exists(`${baseUrl}model_index.json`)) {
        out.push({ id, name: id, baseUrl, description: '', defaultSteps: null, guidanceScale: null, kind: 'shipped' });
      }
    }
  }
  // Only present in development checkouts that ran training/make_fixture.py: random weights, plumbing only.
  const wantFixtures = out.length === 0 || new URLSearchParams(location.search).has('fixtures');
  for (const id of ['tiny', 'tiny-lcm']) {
    const baseUrl = `${BASE}fixtures/${id}/`;
    if (wantFixtures) {
      if (await exists(`${baseUrl}model_index.json`)) {
        out.push({ id: `fixture-${id}`, name: `Fixture ${id} (random weights)`, baseUrl, description: 'Random-weight test fixture', defaultSteps: null, guidanceScale: null, kind: 'fixture' });
      }
    }
  }
  return out;
}
