import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { CatalogEntry } from '../catalog/schema';
import { validateCatalog } from '../catalog/validate';
import { createManifest, markChunkDone } from '../download/chunks';
import { MemoryStore } from '../download/memoryStore';
import { EngineError } from '../errors';
import type { ModelSource, ReadOptions } from '../source';
import { CatalogOverlaySource, StoreSource, synthesizeModelIndex, tokenForId } from './catalogSource';

const catalog = validateCatalog(JSON.parse(readFileSync(new URL('../../../models/catalog.json', import.meta.url), 'utf8')));
const sdTurbo = catalog.models.find((m) => m.id === 'sd-turbo')!;
const lcm = catalog.models.find((m) => m.id === 'lcm-dreamshaper-v7')!;

const enc = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));
const dec = (b: ArrayBuffer | null) => JSON.parse(new TextDecoder().decode(b!)) as Record<string, unknown>;

/** An in-memory source; records what was read. */
class MapSource implements ModelSource {
  readonly label = 'map';
  readonly reads: string[] = [];
  constructor(private readonly files: Record<string, unknown>) {}
  async read(path: string, opts: ReadOptions = {}): Promise<ArrayBuffer | null> {
    this.reads.push(path);
    if (!(path in this.files)) {
      if (opts.optional) return null;
      throw new EngineError('MODEL_FILE_MISSING', `no ${path}`, path);
    }
    return enc(this.files[path]).buffer as ArrayBuffer;
  }
}

const TOKENIZER = {
  added_tokens: [{ id: 49407, content: '<|endoftext|>' }],
  model: { type: 'BPE', vocab: { '!': 0, a: 1, '<|endoftext|>': 49407 } },
};

async function put(store: MemoryStore, id: string, path: string, bytes: Uint8Array, complete = true): Promise<void> {
  let m = createManifest({ url: `https://x/${path}`, size: bytes.length, chunkSize: 1024 });
  await store.writeChunk(id, path, 0, bytes);
  m = markChunkDone(m, 0);
  if (complete) await store.finalize(id, path, m);
  else await store.writeManifest(id, path, m);
}

describe('StoreSource', () => {
  it('reads complete files with progress, null for missing optional ones, and names missing required ones', async () => {
    const store = new MemoryStore();
    await put(store, 'm', 'unet/model.onnx', enc('onnx-bytes'));
    await put(store, 'm', 'unet/model.onnx_data', enc('partial'), false);
    const src = new StoreSource(store, 'm');
    const seen: number[] = [];
    const buf = await src.read('unet/model.onnx', { onProgress: (l) => seen.push(l) });
    expect(new TextDecoder().decode(buf!)).toBe('onnx-bytes');
    expect(seen).toEqual([10]);
    expect(await src.read('unet/model.onnx_data', { optional: true })).toBeNull(); // incomplete = not there
    await expect(src.read('vae_decoder/model.onnx')).rejects.toMatchObject({ code: 'MODEL_FILE_MISSING', file: 'vae_decoder/model.onnx' });
    await expect(src.read('vae_decoder/model.onnx')).rejects.toThrow(/download the model again in the model library/);
  });
});

describe('CatalogOverlaySource', () => {
  it('SD-Turbo-shaped export (three .onnx only): index, scheduler and component configs come from the catalog', async () => {
    const inner = new MapSource({ 'tokenizer/tokenizer.json': TOKENIZER, 'tokenizer/tokenizer_config.json': { pad_token: '<|endoftext|>', bos_token: 'a' } });
    const src = new CatalogOverlaySource(inner, sdTurbo);
    const index = dec(await src.read('model_index.json'));
    expect(index._class_name).toBe('OnnxStableDiffusionPipeline');
    expect(index).toHaveProperty('unet');
    expect(index.fewstep).toMatchObject({ default_steps: 1, guidance_scale: 0, sampler: 'EulerDiscreteScheduler', allowed_steps: [1, 2, 3, 4] });
    const sched = dec(await src.read('scheduler/scheduler_config.json'));
    expect(sched).toMatchObject({ _class_name: 'EulerDiscreteScheduler', timestep_spacing: 'trailing', beta_schedule: 'scaled_linear' });
    expect(dec(await src.read('vae_decoder/config.json'))).toEqual({ scaling_factor: 0.18215 });
    // SD-Turbo ships no configs: 512 px (sample_size 64) and the widths come from the catalog alone
    expect(dec(await src.read('unet/config.json'))).toEqual({ sample_size: 64, in_channels: 4, cross_attention_dim: 1024 });
    expect(dec(await src.read('text_encoder/config.json'))).toEqual({ hidden_size: 1024 });
    // no text_encoder config in the repo nor in the catalog: optional null, required names the file
    const bare = new CatalogOverlaySource(inner, { ...sdTurbo, componentConfig: { unet: { sample_size: 64 } } });
    expect(await bare.read('text_encoder/config.json', { optional: true })).toBeNull();
    await expect(bare.read('text_encoder/config.json')).rejects.toMatchObject({ code: 'MODEL_FILE_MISSING' });
    // pad id 0 -> "!" (SD 2.x / SD-Turbo), other keys kept
    expect(dec(await src.read('tokenizer/tokenizer_config.json'))).toEqual({ pad_token: '!', bos_token: 'a' });
  });

  it('an export with its own files: repo configs kept, catalog values layered on top', async () => {
    const inner = new MapSource({
      'model_index.json': { _class_name: 'LatentConsistencyModelPipeline', unet: [], fewstep: { description: 'mine', default_steps: 9 } },
      'scheduler/scheduler_config.json': { _class_name: 'LCMScheduler', num_train_timesteps: 1000 },
      'unet/config.json': { sample_size: 96, in_channels: 4, cross_attention_dim: 768 },
      'tokenizer/tokenizer.json': TOKENIZER,
      'tokenizer/tokenizer_config.json': { pad_token: '!' },
    });
    const src = new CatalogOverlaySource(inner, lcm);
    const index = dec(await src.read('model_index.json'));
    expect(index._class_name).toBe('LatentConsistencyModelPipeline');
    expect(index.fewstep).toMatchObject({ default_steps: 4, guidance_scale: 8.5, sampler: 'LCMScheduler', description: lcm.name });
    expect(dec(await src.read('scheduler/scheduler_config.json'))).toEqual({ _class_name: 'LCMScheduler', num_train_timesteps: 1000 });
    expect(dec(await src.read('unet/config.json'))).toEqual({ sample_size: 96, in_channels: 4, cross_attention_dim: 768, time_cond_proj_dim: 256 });
    expect(dec(await src.read('tokenizer/tokenizer_config.json')).pad_token).toBe('<|endoftext|>'); // 49407 (SD 1.x)
    expect(await src.read('unet/model.onnx', { optional: true })).toBeNull(); // passes through
  });

  it('LCM at 768 px without unet/config.json, and even when the repo config says otherwise (catalog pins win)', async () => {
    const files = { 'model_index.json': { _class_name: 'LatentConsistencyModelPipeline', unet: [] }, 'tokenizer/tokenizer.json': TOKENIZER };
    const without = new CatalogOverlaySource(new MapSource(files), lcm);
    expect(dec(await without.read('unet/config.json'))).toEqual({ sample_size: 96, in_channels: 4, cross_attention_dim: 768, time_cond_proj_dim: 256 });
    const wrong = new CatalogOverlaySource(new MapSource({ ...files, 'unet/config.json': { sample_size: 64, act_fn: 'silu' } }), lcm);
    expect(dec(await wrong.read('unet/config.json'))).toMatchObject({ sample_size: 96, act_fn: 'silu' });
  });

  it('a pad id the vocabulary lacks is a layout error naming tokenizer.json', async () => {
    const entry: CatalogEntry = { ...sdTurbo, tokenizer: { ...sdTurbo.tokenizer, padTokenId: 77777 } };
    const src = new CatalogOverlaySource(new MapSource({ 'tokenizer/tokenizer.json': TOKENIZER, 'tokenizer/tokenizer_config.json': {} }), entry);
    await expect(src.read('tokenizer/tokenizer_config.json')).rejects.toMatchObject({ code: 'MODEL_LAYOUT_INVALID', file: 'tokenizer/tokenizer.json' });
  });

  it('without an entry (folder, custom URL) only a missing model_index.json is supplied', async () => {
    const inner = new MapSource({ 'scheduler/scheduler_config.json': { _class_name: 'DDIMScheduler' } });
    const src = new CatalogOverlaySource(inner, null);
    const index = dec(await src.read('model_index.json'));
    expect(index).toMatchObject({ _class_name: 'OnnxStableDiffusionPipeline', _fewstep_synthesized: true });
    expect(index).not.toHaveProperty('fewstep');
    expect(dec(await src.read('scheduler/scheduler_config.json'))).toEqual({ _class_name: 'DDIMScheduler' });
    await expect(src.read('unet/config.json')).rejects.toMatchObject({ code: 'MODEL_FILE_MISSING' });
    const own = new CatalogOverlaySource(new MapSource({ 'model_index.json': { _class_name: 'X', fewstep: { default_steps: 3 } } }), null);
    expect(dec(await own.read('model_index.json'))).toEqual({ _class_name: 'X', fewstep: { default_steps: 3 } });
  });

  it('synthesizes an LCM pipeline index when the UNet takes a guidance embedding', () => {
    expect(synthesizeModelIndex(lcm)._class_name).toBe('LatentConsistencyModelPipeline');
    expect(synthesizeModelIndex(sdTurbo)._class_name).toBe('OnnxStableDiffusionPipeline');
  });
});

describe('tokenForId', () => {
  it('finds added tokens, BPE vocab entries and Unigram pieces', () => {
    expect(tokenForId(TOKENIZER, 49407)).toBe('<|endoftext|>');
    expect(tokenForId(TOKENIZER, 0)).toBe('!');
    expect(tokenForId({ model: { vocab: [['<pad>', 0], ['▁a', -1]] } }, 1)).toBe('▁a');
    expect(tokenForId(TOKENIZER, 5)).toBeNull();
  });
});
