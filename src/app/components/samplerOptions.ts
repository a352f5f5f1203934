import { samplerRows } from '../../schedulers';

/** The sampler picker's options, [value, label]: the model's own, then every registered sampler by label. */
export function samplerOptions(): Array<[string, string]> {
  const rows = [...samplerRows()].sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
  return [['', "Model's own"], ...rows.map((r): [string, string] => [r.className, r.label])];
}
