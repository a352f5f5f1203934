/**
 * One LoRA strength range (review finding 5): LORA_SCALE_RANGE (engine/lora/scale.ts) is what the merge, the catalog
 * validator, the app's picker and links, and the CLI's --lora accept; a strength just outside it is refused by each,
 * the bounds themselves are accepted by each.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isValidLoraScale, LORA_SCALE_LIMITS, parseLoraList } from '../src/app/lora/loraSet';
import { parseLoraOption } from '../src/cli/args';
import { validateCatalog } from '../src/engine/catalog/validate';
import { LORA_SCALE_RANGE, mergeLoras } from '../src/engine/lora';

const { min, max } = LORA_SCALE_RANGE;
const outside = [min - 0.5, max + 0.5];

/** The shipped catalog with its first LoRA's defaultScale set to `s`. */
function catalogWith(s: number): unknown {
  const c = JSON.parse(readFileSync(new URL('../models/catalog.json', import.meta.url), 'utf8')) as { loras: Array<{ defaultScale: number }> };
  c.loras[0].defaultScale = s;
  return c;
}

describe('LORA_SCALE_RANGE', () => {
  it('is the app slider range', () => {
    expect([LORA_SCALE_LIMITS.min, LORA_SCALE_LIMITS.max]).toEqual([min, max]);
  });

  it.each(outside)('%s is refused everywhere', (s) => {
    expect(() => mergeLoras(new Uint8Array(0), undefined, [{ name: 'x', bytes: new Uint8Array(0), scale: s }])).toThrow(`outside ${min}..${max}`);
    expect(() => parseLoraOption(`x.safetensors:${s}`)).toThrow(`from ${min} to ${max}`);
    expect(() => validateCatalog(catalogWith(s))).toThrow(/defaultScale/);
    expect(isValidLoraScale(s)).toBe(false);
    expect(parseLoraList(`fewstep-style-ink:${s}`).list).toEqual([]);
  });

  it.each([min, max])('%s is accepted everywhere', (s) => {
    // no adapter bytes: the scale check passes and the (empty) file is refused next, for another reason
    expect(() => mergeLoras(new Uint8Array(0), undefined, [{ name: 'x', bytes: new Uint8Array(0), scale: s }])).not.toThrow(/outside/);
    expect(parseLoraOption(`x.safetensors:${s}`).scale).toBe(s);
    expect(() => validateCatalog(catalogWith(s))).not.toThrow();
    expect(isValidLoraScale(s)).toBe(true);
    expect(parseLoraList(`fewstep-style-ink:${s}`).list).toEqual([{ id: 'fewstep-style-ink', scale: s }]);
  });
});
