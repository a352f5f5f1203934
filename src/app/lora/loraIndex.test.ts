import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fitsModel, lcmLoraOf, lorasFromCatalog, mergeLoraLists, parseLoraIndex, shortLoraLabel, type CatalogLora } from './loraIndex';
import { LORA_INDEX_FIXTURE } from './testIndex';

const SHIPPED_INDEX = new URL('../../../models/loras/index.json', import.meta.url);

describe('shipped LoRA index (models/loras/index.json)', () => {
  it('reads entries: id from the file, sampler alias to its class, URL under the served folder', () => {
    const { loras, problems } = parseLoraIndex(LORA_INDEX_FIXTURE, '/models/loras/');
    expect(problems).toEqual([]);
    expect(loras.map((l) => [l.id, l.kind, l.defaultScale, l.url])).toEqual([
      ['fewstep-lcm-lora', 'lcm', 1, '/models/loras/fewstep-lcm-lora.safetensors'],
      ['fewstep-style-ink', 'style', 0.8, '/models/loras/fewstep-style-ink.safetensors'],
    ]);
    expect(loras[0].recommended).toEqual({ sampler: 'LCMScheduler', steps: 4, guidance_scale: 1, guidanceRange: [1, 2], stepRange: [1, 8] });
    expect(loras[1].recommended).toBeNull();
    expect(fitsModel(loras[0], 'fewstep-teacher')).toBe(true);
    expect(fitsModel(loras[0], 'fewstep-turbo')).toBe(false);
    expect(lcmLoraOf([{ id: 'fewstep-style-ink' }, { id: 'fewstep-lcm-lora' }], loras)?.id).toBe('fewstep-lcm-lora');
    expect(lcmLoraOf([{ id: 'fewstep-style-ink' }], loras)).toBeUndefined();
    expect(loras.map(shortLoraLabel)).toEqual(['LCM-LoRA', 'Ink style']);
  });

  it('leaves out entries it cannot use, saying why, and keeps the others', () => {
    const bad = [{ file: '../x.safetensors', base: ['m'] }, { file: 'a.safetensors', base: [] }, { file: 'b.safetensors', base: ['m'], recommended: { steps: 4 } }, { file: 'ok.safetensors', base: ['m'] }];
    const { loras, problems } = parseLoraIndex(bad, '/');
    expect(loras.map((l) => l.id)).toEqual(['ok']);
    expect(problems).toEqual([
      'Entry 0: "file" must be a .safetensors file name.',
      'a.safetensors: "base" must list the model ids it was trained on.',
      'b.safetensors: "recommended" needs sampler, steps and guidance_scale.',
    ]);
    expect(parseLoraIndex({}).problems).toEqual(['models/loras/index.json is not a list of LoRAs.']);
  });

  it.skipIf(!existsSync(SHIPPED_INDEX))('the shipped index reads without problems and has an LCM-LoRA for the teacher', () => {
    const { loras, problems } = parseLoraIndex(JSON.parse(readFileSync(SHIPPED_INDEX, 'utf8')), '/models/loras/');
    expect(problems).toEqual([]);
    const lcm = loras.find((l) => l.kind === 'lcm');
    expect(lcm?.base).toContain('fewstep-teacher');
    expect(lcm?.recommended?.sampler).toBe('LCMScheduler');
    for (const l of loras) expect(existsSync(new URL(`../../../models/loras/${l.file}`, import.meta.url)), l.file).toBe(true);
  });
});

describe('catalog LoRA entries (models/catalog.json `loras`)', () => {
  it('become picker entries: appliesTo as base, role as kind, sampler as the recommendation, hf or local URL', () => {
    const hf = {
      id: 'lcm-lora-sdv1-5',
      name: 'LCM-LoRA SD 1.5',
      kind: 'remote',
      source: { type: 'hf', repo: 'latent-consistency/lcm-lora-sdv1-5', revision: 'main' },
      files: [{ path: 'pytorch_lora_weights.safetensors', size: 134621556 }],
      format: 'peft',
      role: 'lcm',
      baseFamily: 'sd1',
      appliesTo: ['sd-1-5'],
      rank: 64,
      alpha: 64,
      alphaStorage: 'none',
      precision: 'fp16',
      defaultScale: 1,
      sampler: { schedulerClass: 'LCMScheduler', steps: 4, stepRange: [2, 8], guidanceScale: 1, guidanceRange: [1, 2] },
      license: 'openrail++',
      notes: ['LCM-LoRA for SD 1.5.'],
    } as unknown as CatalogLora;
    const local = { ...hf, id: 'fewstep-lcm-lora', kind: 'shipped', source: { type: 'local', path: 'models/loras' }, files: [{ path: 'fewstep-lcm-lora.safetensors', size: 1 }], appliesTo: ['fewstep-teacher'] } as unknown as CatalogLora;
    const none = { ...hf, id: 'orphan', appliesTo: [] } as unknown as CatalogLora;
    const list = lorasFromCatalog([hf, local, none], { appBase: '/', hubBase: 'https://huggingface.co' });
    expect(list.map((l) => [l.id, l.kind, l.base, l.url])).toEqual([
      ['lcm-lora-sdv1-5', 'lcm', ['sd-1-5'], 'https://huggingface.co/latent-consistency/lcm-lora-sdv1-5/resolve/main/pytorch_lora_weights.safetensors'],
      ['fewstep-lcm-lora', 'lcm', ['fewstep-teacher'], '/models/loras/fewstep-lcm-lora.safetensors'],
    ]);
    expect(list[0].recommended).toEqual({ sampler: 'LCMScheduler', steps: 4, guidance_scale: 1, guidanceRange: [1, 2], stepRange: [2, 8] });
    expect(list[0].bytes).toBe(134621556);
    // index.json wins for an id both list.
    const index = parseLoraIndex(LORA_INDEX_FIXTURE, '/models/loras/').loras;
    expect(mergeLoraLists(index, list).map((l) => l.id)).toEqual(['fewstep-lcm-lora', 'fewstep-style-ink', 'lcm-lora-sdv1-5']);
    expect(mergeLoraLists(index, list)[0]).toBe(index[0]);
  });
});
