/**
 * Integration (issue 13, item 4): the SD 1.5 stand-in (training/make_standins.py `sd-1-5`, the layout of
 * nmkd/stable-diffusion-1.5-onnx-fp16: a tiny instance of the family's diffusers-named U-Net exported by torch.onnx,
 * float16 weights and I/O, float16 timestep [batch], unet/weights.pb) and the stand-in of the public SD 1.5
 * LCM-LoRA (`lcm-lora-sdv1-5`: the published file's kohya key layout, 0-dim float16 alphas, {"format": "pt"}).
 *
 * - every key of the stand-in LCM-LoRA maps to a weight of the stand-in U-Net through the engine's merge
 *   (lora/merge.ts mergeLoras), and the merged values are W + alpha / r * B @ A in the weight's stored layout;
 * - the published file's own header (rebuilt by make_standins.py from SD 1.5's architecture; its sha256 is the one a
 *   public download manifest records) normalizes to 278 kohya modules of rank 64, each with a 0-dim float16 alpha,
 *   and its module names have the shapes of the stand-in U-Net's;
 * - the stand-in loads through the engine with the catalog entry `sd-1-5` as a download would, renders, and renders
 *   differently with the LoRA merged at load.
 * Skipped, with the command to run, when the stand-ins are not built (`make -C training standins`).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CatalogEntry, LoraEntry } from '../src/engine/catalog/schema';
import { getLoraEntry, validateCatalog } from '../src/engine/catalog/validate';
import { float16BitsToFloat32 } from '../src/engine/float16';
import { meanAbsDiff, pixelStd } from '../src/engine/image';
import { indexWeights, mergeLoras, normalizeLoraKeys, parseSafetensors, tensorToFloat32, type SafetensorsFile } from '../src/engine/lora';
import { configureOrt } from '../src/engine/ort';
import { Pipeline, type GenerateParams } from '../src/engine/pipeline';
import { CancelToken } from '../src/engine/queue';
import type { ModelSource, ReadOptions } from '../src/engine/source';
import { CatalogOverlaySource } from '../src/engine/sources/catalogSource';
import { FsSource, ROOT } from './modelDirs';

const STANDINS = join(ROOT, 'fixtures/generated/standins');
const SD15 = join(STANDINS, 'sd-1-5');
const LORA = join(STANDINS, 'lcm-lora-sdv1-5');
const BUILT = existsSync(join(SD15, 'standin.json')) && existsSync(join(LORA, 'standin.json'));
const NOT_BUILT = 'SKIPPED: the SD 1.5 and LCM-LoRA stand-ins are not built (fixtures/generated/standins/sd-1-5, lcm-lora-sdv1-5); run `make -C training standins`';

interface LoraManifest {
  base: { standin: string; graph: string };
  lora: { format: string; rank: number; alpha: number; modules: string[]; metadata: Record<string, string> };
  realFiles: Array<{ path: string; size: number; sha256: string; headerLength: number; headerSha256: string; tensors: number }>;
  realHeader: { path: string; bytes: number; sha256: string; tensors: number; modules: number };
}

const catalogJson = JSON.parse(readFileSync(join(ROOT, 'models/catalog.json'), 'utf8')) as { models: Array<{ id: string }>; loras?: Array<{ id: string }> };
/** The pipeline entry and the LoRA entry, validated on their own (other entries may be mid-edit). */
function entries(): { sd15: CatalogEntry; lcm: LoraEntry } {
  const c = validateCatalog({
    schemaVersion: 1,
    models: [catalogJson.models.find((m) => m.id === 'sd-1-5')],
    loras: [catalogJson.loras?.find((l) => l.id === 'lcm-lora-sdv1-5')],
  });
  return { sd15: c.models[0], lcm: getLoraEntry(c, 'lcm-lora-sdv1-5') };
}
const u8 = (p: string): Uint8Array => new Uint8Array(readFileSync(p));
const manifest = (): LoraManifest => JSON.parse(readFileSync(join(LORA, 'standin.json'), 'utf8')) as LoraManifest;
/** The U-Net graph and its weights.pb sidecar, fresh copies (the merge writes into them). */
const unet = () => ({ graph: u8(join(SD15, 'unet/model.onnx')), external: [{ path: 'weights.pb', data: u8(join(SD15, 'unet/weights.pb')) }] });
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/**
 * The folder as a download stores it: the entry's tokenizer comes from another repo (Xenova/clip-vit-base-patch16,
 * its stand-in) into tokenizer/, beside the repo's own vocab.json + merges.txt.
 */
class AsDownloaded implements ModelSource {
  readonly label: string;
  private readonly repo: FsSource;
  private readonly tok = new FsSource(join(STANDINS, 'xenova-clip-vit-base-patch16'));
  constructor(dir: string) {
    this.repo = new FsSource(dir);
    this.label = this.repo.label;
  }
  read(path: string, opts: ReadOptions = {}): Promise<ArrayBuffer | null> {
    if (path === 'tokenizer/tokenizer.json' || path === 'tokenizer/tokenizer_config.json') return this.tok.read(path.slice('tokenizer/'.length), opts);
    return this.repo.read(path, opts);
  }
}

if (!BUILT) {
  describe('SD 1.5 and LCM-LoRA stand-ins', () => {
    it.skip(NOT_BUILT, () => undefined);
  });
}

describe.skipIf(!BUILT)('LCM-LoRA stand-in on the SD 1.5 stand-in U-Net (engine merge)', () => {
  it('the stand-in mimics the catalog entry lcm-lora-sdv1-5: the real file, the kohya layout, alpha / r = 1/8', () => {
    const m = manifest();
    const { lcm } = entries();
    expect(m.base).toEqual({ standin: 'sd-1-5', graph: 'unet/model.onnx' });
    expect(m.realFiles[0]).toMatchObject({ path: lcm.files[0].path, size: lcm.files[0].size, sha256: lcm.files[0].sha256, tensors: lcm.tensorCount });
    expect(lcm.format).toBe(m.lora.format);
    expect(m.lora).toMatchObject({ format: 'kohya', rank: 4, alpha: 0.5, metadata: { format: 'pt' } });
    const st = parseSafetensors(u8(join(LORA, 'pytorch_lora_weights.safetensors')), 'lcm-lora-sdv1-5');
    expect(st.metadata).toEqual({ format: 'pt' });
    expect(st.tensors.size).toBe(3 * m.lora.modules.length);
    for (const t of st.tensors.values()) {
      expect(t.dtype, t.name).toBe('F16');
      if (t.name.endsWith('.alpha')) expect(t.shape, t.name).toEqual([]);
    }
  });

  it('every key maps to a weight of the U-Net: all matched, none unmatched, one weight changed per module', () => {
    const m = manifest();
    const { graph, external } = unet();
    const bytes = u8(join(LORA, 'pytorch_lora_weights.safetensors'));
    const r = mergeLoras(graph, external, [{ name: 'lcm-lora-sdv1-5', bytes, scale: 1 }]);
    expect(r.adapters).toHaveLength(1);
    expect(r.adapters[0]).toMatchObject({ format: 'kohya', rank: 4, alpha: 0.5, matched: 3 * m.lora.modules.length, unmatched: 0, textEncoderKeys: 0 });
    expect(r.adapters[0].firstUnmatched).toBeUndefined();
    expect(r.weightsChanged).toBe(m.lora.modules.length);
    // The modules it resolved are the stand-in's LoRA targets, conv (initializer names) and MatMul (node names) alike.
    const index = indexWeights(u8(join(SD15, 'unet/model.onnx')));
    for (const path of m.lora.modules) expect(index.modules.has(path), path).toBe(true);
    const ops = new Set(m.lora.modules.map((p) => index.modules.get(p)!.op));
    expect([...ops].sort()).toEqual(['Conv', 'Gemm', 'MatMul']); // convs, time_emb_proj (Gemm), attention / ff (MatMul)
    expect(m.lora.modules.some((p) => p.endsWith('.proj_in'))).toBe(true);
    // Weights live in weights.pb (over 1 KiB); the graph's own bytes hold the small ones.
    expect(sha(external[0].data)).not.toBe(sha(u8(join(SD15, 'unet/weights.pb'))));
  });

  it('merged weights equal fp16(W + alpha / r * B @ A) in the stored layout (a 3x3 conv and a transposed MatMul)', () => {
    const { graph, external } = unet();
    const before = { graph: graph.slice(), side: external[0].data.slice() };
    const st = parseSafetensors(u8(join(LORA, 'pytorch_lora_weights.safetensors')), 'lcm-lora-sdv1-5');
    mergeLoras(graph, external, [{ name: 'lcm-lora-sdv1-5', bytes: st.bytes, scale: 1 }]);
    const index = indexWeights(before.graph);
    const values = (w: { sidecar: string | null; offset: number; length: number }, g: Uint8Array, side: Uint8Array): Float32Array => {
      const src = w.sidecar ? side : g;
      const b = src.slice(w.offset, w.offset + w.length);
      return float16BitsToFloat32(new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2));
    };
    const cases = [
      { module: 'down_blocks.1.resnets.0.conv1', op: 'Conv' },
      { module: 'down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q', op: 'MatMul' },
    ];
    for (const { module, op } of cases) {
      const mw = index.modules.get(module)!;
      expect(mw.op).toBe(op);
      expect(mw.dtype).toBe('float16');
      const where = mw.initializer.bytes!;
      const w0 = values(where, before.graph, before.side);
      const w1 = values(where, graph, external[0].data);
      const key = `lora_unet_${module.replace(/\./g, '_')}`;
      const down = tensorToFloat32(st, st.tensors.get(`${key}.lora_down.weight`)!);
      const up = tensorToFloat32(st, st.tensors.get(`${key}.lora_up.weight`)!);
      const r = st.tensors.get(`${key}.lora_down.weight`)!.shape[0];
      const alpha = tensorToFloat32(st, st.tensors.get(`${key}.alpha`)!)[0];
      expect(alpha / r).toBe(0.125);
      const out = st.tensors.get(`${key}.lora_up.weight`)!.shape[0];
      const inner = down.length / r; // in * kh * kw
      let worst = 0;
      for (let o = 0; o < out; o++) {
        for (let i = 0; i < inner; i++) {
          let d = 0;
          for (let k = 0; k < r; k++) d += up[o * r + k] * down[k * inner + i];
          // Conv stores [out, in, kh, kw]; MatMul stores the transpose [in, out].
          const at = mw.transposed ? i * out + o : o * inner + i;
          const want = w0[at] + (alpha / r) * d;
          const ulp = Math.max(2 ** -24, 2 ** (Math.floor(Math.log2(Math.abs(want) || 2 ** -24)) - 10));
          worst = Math.max(worst, Math.abs(w1[at] - want) / ulp);
        }
      }
      expect(worst, module).toBeLessThanOrEqual(1); // within one float16 ulp
    }
  });

  it('scale 0 leaves every byte as it was', () => {
    const { graph, external } = unet();
    const g0 = sha(graph);
    const s0 = sha(external[0].data);
    const r = mergeLoras(graph, external, [{ name: 'lcm-lora-sdv1-5', bytes: u8(join(LORA, 'pytorch_lora_weights.safetensors')), scale: 0 }]);
    expect(r.weightsChanged).toBe(0);
    expect([sha(graph), sha(external[0].data)]).toEqual([g0, s0]);
  });
});

describe.skipIf(!BUILT)('the published SD 1.5 LCM-LoRA key set (real-header.json, rebuilt from the architecture)', () => {
  /** A parsed-file view of the real header: names, dtypes and shapes (the data is not here, and not needed). */
  function realFile(): { file: SafetensorsFile; header: Uint8Array } {
    const header = u8(join(LORA, 'real-header.json'));
    const json = JSON.parse(new TextDecoder().decode(header)) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
    const { __metadata__: meta, ...tensors } = json as Record<string, unknown>;
    const map = new Map(Object.entries(tensors as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>).map(
      ([name, t]) => [name, { name, dtype: t.dtype, shape: t.shape, begin: 8 + header.length + t.data_offsets[0], end: 8 + header.length + t.data_offsets[1] }],
    ));
    return { file: { tensors: map, metadata: meta as Record<string, string>, bytes: new Uint8Array(0), file: 'pytorch_lora_weights.safetensors' }, header };
  }

  it('is the published header byte for byte (length and sha256 of the public manifest)', () => {
    const m = manifest();
    const { header } = realFile();
    expect(header.length).toBe(m.realFiles[0].headerLength);
    expect(sha(header)).toBe(m.realFiles[0].headerSha256);
    const last = Math.max(...[...realFile().file.tensors.values()].map((t) => t.end));
    expect(last).toBe(m.realFiles[0].size); // 8 + header + data = the file's size
  });

  it('normalizes to 278 kohya modules of rank 64, each with down, up and a 0-dim float16 alpha', () => {
    const { file } = realFile();
    expect(file.metadata).toEqual({ format: 'pt' });
    const n = normalizeLoraKeys(file);
    expect(n.totalKeys).toBe(834);
    expect(n.modules).toHaveLength(278);
    expect(n.textEncoderKeys).toBe(0);
    expect(n.otherKeys).toEqual([]);
    for (const mod of n.modules) {
      expect(mod.format, mod.path).toBe('kohya');
      expect(mod.underscored).toBe(true);
      expect([mod.down?.dtype, mod.up?.dtype, mod.alpha?.dtype], mod.path).toEqual(['F16', 'F16', 'F16']);
      expect(mod.alpha?.shape, mod.path).toEqual([]);
      expect(mod.down?.shape[0], mod.path).toBe(64);
      expect(mod.up?.shape[1], mod.path).toBe(64);
    }
    const conv3 = n.modules.filter((x) => x.down?.shape.length === 4 && x.down.shape[2] === 3).length;
    expect(conv3).toBe(22 * 2 + 6); // resnet conv1/conv2 (22 resnets) and the 6 down/upsampler convs
    expect(n.modules.filter((x) => /_proj_(in|out)$/.test(x.path)).every((x) => x.down?.shape.length === 4)).toBe(true); // 1x1 convs in SD 1.5
  });

  it("the stand-in U-Net's module names have the real key set's shapes (block indices aside)", () => {
    const shape = (p: string) => p.replace(/_\d+(?=_|$)/g, '_N');
    const real = new Set(normalizeLoraKeys(realFile().file).modules.map((m) => shape(m.path)));
    const standin = manifest().lora.modules.map((p) => shape(p.replace(/\./g, '_')));
    expect(standin.filter((p) => !real.has(p))).toEqual([]);
    // The stand-in's targets cover every kind of module the real file adapts.
    const kinds = (ps: Iterable<string>) => new Set([...ps].map((p) => p.replace(/^.*?_(attentions_N_)?(transformer_blocks_N_)?/, '').replace(/^(resnets|downsamplers|upsamplers)_N_/, '')));
    expect([...kinds(real)].sort()).toEqual([...kinds(standin)].sort());
  });
});

describe.skipIf(!BUILT)('SD 1.5 stand-in (nmkd) through the engine on WASM, with and without the LCM-LoRA', () => {
  let pipe: Pipeline;
  let withLora: Pipeline;
  const params = (p: Partial<GenerateParams> = {}): GenerateParams => ({ prompt: 'a red circle on a blue background', seed: 7, steps: 1, guidanceScale: 7.5, ...p });

  beforeAll(async () => {
    configureOrt({ numThreads: 1 });
    const { sd15 } = entries();
    pipe = await Pipeline.load(new CatalogOverlaySource(new AsDownloaded(SD15), sd15), { name: sd15.name, provider: 'wasm' });
    const bytes = u8(join(LORA, 'pytorch_lora_weights.safetensors'));
    withLora = await Pipeline.load(new CatalogOverlaySource(new AsDownloaded(SD15), sd15), {
      name: sd15.name,
      provider: 'wasm',
      loras: [{ name: 'lcm-lora-sdv1-5', bytes, scale: 1 }],
    });
  }, 300_000);
  afterAll(async () => {
    await pipe?.release();
    await withLora?.release();
  });

  it('loads as the catalog entry says: fp16 I/O, float16 timestep, 512 px, DDIM 20 steps by default', () => {
    expect(pipe.layout.kind).not.toBe('sdxl');
    expect(pipe.io.sample.type).toBe('float16');
    expect(pipe.io.ids.type).toBe('int32');
    expect(pipe.info.imageSize).toEqual([512, 512]);
    expect(pipe.info.latentShape).toEqual([1, 4, 64, 64]);
    expect(pipe.scalingFactor).toBe(0.18215);
    expect(pipe.info.defaults).toMatchObject({ steps: 20, guidanceScale: 7.5, sampler: 'DDIMScheduler' });
    expect(pipe.info.lora).toBeUndefined();
    expect(withLora.info.lora?.adapters[0]).toMatchObject({ name: 'lcm-lora-sdv1-5', format: 'kohya', matched: 3 * manifest().lora.modules.length, unmatched: 0 });
  });

  it('renders with classifier-free guidance; the LoRA-merged U-Net renders a different image with the LCM sampler', async () => {
    const a = await pipe.generate(params(), new CancelToken());
    const b = await pipe.generate(params({ seed: 8 }), new CancelToken());
    expect([a.image.width, a.image.height]).toEqual([512, 512]);
    expect(a.latents.every(Number.isFinite)).toBe(true);
    expect(pixelStd(a.image)).toBeGreaterThan(1);
    expect(meanAbsDiff(a.image, b.image)).toBeGreaterThan(0.5);
    const lcm = { scheduler: 'LCMScheduler', guidanceScale: 1, steps: 1 };
    const base = await pipe.generate(params(lcm), new CancelToken());
    const merged = await withLora.generate(params(lcm), new CancelToken());
    expect(merged.schedulerClass).toBe('LCMScheduler');
    expect(merged.latents.every(Number.isFinite)).toBe(true);
    expect(meanAbsDiff(base.image, merged.image)).toBeGreaterThan(0.5);
  }, 300_000);
});
