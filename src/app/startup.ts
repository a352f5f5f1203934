import { updateSettings, type Settings } from './store';

/** Settings from the query string (?ep=wasm&seed=7&steps=4&model=fewstep-lcm&p=...). */
export function applyUrlSettings(search: string = location.search): void {
  const q = new URLSearchParams(search);
  const patch: Partial<Settings> = {};
  const ep = q.get('ep');
  if (ep === 'wasm' || ep === 'webgpu' || ep === 'auto') patch.provider = ep;
  const int = (k: string, min: number, max: number): number | undefined => {
    const v = q.get(k);
    if (v === null || !/^\d+$/.test(v)) return undefined;
    const n = Number(v);
    return n >= min && n <= max ? n : undefined;
  };
  const seed = int('seed', 0, 2 ** 32 - 1);
  if (seed !== undefined) patch.seed = seed;
  const steps = int('steps', 1, 1000);
  if (steps !== undefined) patch.steps = steps;
  const p = q.get('p');
  if (p !== null) patch.prompt = p.slice(0, 1000);
  const model = q.get('model');
  if (model) patch.modelId = model;
  updateSettings(patch);
}
