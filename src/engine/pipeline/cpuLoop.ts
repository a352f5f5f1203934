/**
 * Phases 4-5 on the CPU: each step runs the UNet through SessionHandle.run (outputs read back as Float32Array),
 * combines CFG and calls `scheduler.step` on Float32Arrays; then the VAE decodes. Works on every provider, dtype
 * and sampler, and is the only loop with per-step previews.
 */
import { cfgCombine } from '../../schedulers';
import { EngineError } from '../errors';
import { chwToRgba, countNonFinite, type RgbaImage } from '../image';
import type { Feed, ModelIo, Sessions, UnetConditioning } from './bindings';
import type { PromptEncoder } from './prompts';
import type { LoopStrategy, Sampling } from './sampling';
import type { StageTimings } from './timings';

const now = (): number => performance.now();

export interface Decoded {
  image: RgbaImage;
  vaeMs: number;
  readbackMs: number;
}

export class CpuLoop implements LoopStrategy<Float32Array, { image: RgbaImage; latents: Float32Array }> {
  constructor(
    private readonly sessions: Sessions,
    private readonly io: ModelIo,
    private readonly prompts: PromptEncoder,
    private readonly latentShape: number[],
    private readonly scalingFactor: number,
    private readonly textDim: () => number,
  ) {}

  embed(text: string, timings: StageTimings): Promise<Float32Array> {
    return this.prompts.cpu(text, timings);
  }

  /** Run the UNet for a batch of items (each latents-sized), honouring a fixed batch axis. */
  private async unet(inputs: Float32Array[], embs: Float32Array[], t: number, conditioning: UnetConditioning | null): Promise<Float32Array[]> {
    const io = this.io;
    const shape = this.latentShape;
    const n = inputs[0].length;
    const embLen = embs[0].length;
    const groups: number[][] = io.fixedBatch === null ? [inputs.map((_, i) => i)] : inputs.map((_, i) => [i]);
    const outs: Float32Array[] = [];
    for (const g of groups) {
      const b = io.fixedBatch ?? g.length;
      const pick = (k: number): number => g[Math.min(k, g.length - 1)];
      const sample = new Float32Array(b * n);
      const ehs = new Float32Array(b * embLen);
      for (let k = 0; k < b; k++) {
        sample.set(inputs[pick(k)], k * n);
        ehs.set(embs[pick(k)], k * embLen);
      }
      const feeds: Record<string, Feed> = {
        [io.sample.name]: io.feed(io.sample, sample, [b, ...shape.slice(1)]),
        [io.encoderHiddenStates.name]: io.feed(io.encoderHiddenStates, ehs, [b, embLen / this.textDim(), this.textDim()]),
        [io.timestep.name]: io.timestepFeed(t, b),
        ...io.conditioningFeeds(conditioning, b),
      };
      const res = (await this.sessions.unet.run(feeds, [io.unetOut]))[io.unetOut].data;
      for (let k = 0; k < g.length; k++) outs.push(res.slice(k * n, (k + 1) * n));
    }
    return outs;
  }

  async run(s: Sampling<Float32Array>): Promise<{ image: RgbaImage; latents: Float32Array }> {
    const { scheduler, params, timesteps, token, timings } = s;
    // 4. denoise
    let latents = s.latents;
    for (let i = 0; i < timesteps.length; i++) {
      token.throwIfCancelled();
      const t = timesteps[i];
      const tu = now();
      const modelIn = scheduler.scaleModelInput(latents, t);
      let eps: Float32Array;
      if (s.uncond) {
        const [u, c] = await this.unet([modelIn, modelIn], [s.uncond, s.cond], t, s.conditioning);
        eps = cfgCombine(u, c, params.guidanceScale);
      } else {
        [eps] = await this.unet([modelIn], [s.cond], t, s.conditioning);
      }
      const unetMs = now() - tu;
      if (countNonFinite(eps) > 0) {
        throw new EngineError('NON_FINITE_OUTPUT', `The UNet (${this.sessions.unet.file}) produced NaN/Inf at step ${i + 1} (t=${t}).`, this.sessions.unet.file);
      }
      const ts = now();
      const eta = s.eta;
      const out = scheduler.step(eps, t, latents, scheduler.needsNoise(t, { eta }) ? { noise: s.stepNoise(), eta } : { eta });
      latents = out.prevSample;
      const schedulerMs = now() - ts;
      let preview: RgbaImage | undefined;
      if (params.preview) {
        const tp = now();
        preview = (await this.decode(out.predOriginalSample)).image;
        timings.previewMs += now() - tp;
      }
      s.stepDone(i, unetMs, schedulerMs, preview);
    }
    token.throwIfCancelled();

    // 5. decode. LCM's last step already returns `denoised`, so prevSample is what diffusers decodes too.
    const dec = await this.decode(latents);
    timings.vaeMs = dec.vaeMs;
    timings.readbackMs = dec.readbackMs;
    return { image: dec.image, latents };
  }

  /** latents -> VAE decoder -> RGBA. */
  async decode(latents: Float32Array): Promise<Decoded> {
    const io = this.io;
    const scaled = new Float32Array(latents.length);
    const sf = this.scalingFactor;
    for (let i = 0; i < latents.length; i++) scaled[i] = latents[i] / sf;
    const t0 = now();
    const out = (await this.sessions.vae.run({ [io.vaeIn.name]: io.feed(io.vaeIn, scaled, this.latentShape) }, [io.vaeOut]))[io.vaeOut];
    const t1 = now();
    const image = chwToRgba(out.data, out.dims);
    return { image, vaeMs: t1 - t0, readbackMs: now() - t1 };
  }
}
