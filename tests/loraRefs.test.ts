/**
 * The app's engine refs for catalog LoRAs (review finding 2, app side): an entry from a hub carries its catalog entry
 * and hub base (the worker downloads it into the model store once), an entry the app serves itself keeps its URL,
 * and a picked file goes by a copy of its bytes.
 */
import { describe, expect, it } from 'vitest';
import { lorasFromCatalog, type CatalogLora } from '../src/app/lora/loraIndex';
import { loraRefsFor } from '../src/app/lora/loraStore';

const hf = {
  id: 'lcm-lora-sdv1-5',
  name: 'LCM-LoRA SD 1.5',
  kind: 'remote',
  source: { type: 'hf', repo: 'latent-consistency/lcm-lora-sdv1-5', revision: 'main' },
  files: [{ path: 'pytorch_lora_weights.safetensors', size: 134621556, sha256: 'a'.repeat(64) }],
  format: 'peft',
  role: 'style',
  baseFamily: 'sd1',
  appliesTo: ['sd-1-5'],
  rank: 64,
  alpha: 64,
  alphaStorage: 'none',
  precision: 'fp16',
  defaultScale: 1,
  license: 'openrail++',
  notes: [],
} as unknown as CatalogLora;
const local = { ...hf, id: 'fewstep-style-ink', kind: 'shipped', source: { type: 'local', path: 'models/loras' }, files: [{ path: 'fewstep-style-ink.safetensors', size: 1 }] } as unknown as CatalogLora;

describe('LoRA refs sent to the engine', () => {
  it('a hub LoRA by its catalog entry, a served one by URL, a picked file by its bytes', () => {
    const shipped = lorasFromCatalog([hf, local], { appBase: '/', hubBase: 'http://hub.test' });
    expect(shipped[0].catalog).toEqual({ entry: hf, hubBase: 'http://hub.test' });
    expect(shipped[1].catalog).toBeUndefined();
    const bytes = new Uint8Array([1, 2, 3]).buffer;
    const { refs, missing } = loraRefsFor(
      [
        { id: 'lcm-lora-sdv1-5', scale: 0.5 },
        { id: 'fewstep-style-ink', scale: 1 },
        { id: 'mine.safetensors', scale: 1 },
      ],
      { shipped, files: [{ id: 'mine.safetensors', bytes, size: 3, pick: 1 }] },
    );
    expect(missing).toEqual([]);
    expect(refs[0]).toEqual({ name: 'lcm-lora-sdv1-5', scale: 0.5, catalog: { entry: hf, hubBase: 'http://hub.test' } });
    expect(refs[1]).toEqual({ name: 'fewstep-style-ink', scale: 1, url: '/models/loras/fewstep-style-ink.safetensors' });
    expect(refs[2].bytes?.byteLength).toBe(3);
    expect(refs[2].bytes).not.toBe(bytes);
  });
});
