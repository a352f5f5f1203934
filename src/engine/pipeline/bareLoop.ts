/**
 * The benchmark's lower bound as a loop strategy: the same sessions and inputs as a generation (phases 0-3 are the
 * shared ones), but phases 4-5 are only session.run calls in sequence (UNet per step, VAE), no scheduler, no
 * conversion, no queue hops (each timed loop holds ortQueue once). The text encoder is left out of the timing, as a
 * warm generation hits the prompt cache. GPU-buffer outputs are disposed unread except the VAE's, read back once
 * at the end so the clock stops when the GPU is done. Returns the wall time of each of `runs` loops in ms.
 */
import { ortQueue, type OrtTensor } from '../ort';
import { asTensors, type Feed, type ModelIo, type Sessions } from './bindings';
import type { PromptEncoder } from './prompts';
import type { LoopStrategy, Sampling } from './sampling';
import type { StageTimings } from './timings';

const now = (): number => performance.now();

export class BareLoop implements LoopStrategy<Float32Array, number[]> {
  constructor(
    private readonly sessions: Sessions,
    private readonly io: ModelIo,
    private readonly prompts: PromptEncoder,
    private readonly latentShape: number[],
    private readonly textDim: number,
    private readonly runs: number,
  ) {}

  embed(text: string, timings: StageTimings): Promise<Float32Array> {
    return this.prompts.cpu(text, timings);
  }

  async run(s: Sampling<Float32Array>): Promise<number[]> {
    const { unet, vae } = this.sessions;
    const io = this.io;
    const shape = this.latentShape;
    const n = s.latents.length;
    const cfg = s.uncond !== null;
    const b = cfg && io.fixedBatch === null ? 2 : 1;
    const runsPerStep = cfg && io.fixedBatch !== null ? 2 : 1;
    const sample = new Float32Array(b * n);
    for (let k = 0; k < b; k++) sample.set(s.latents, k * n);
    const ehs = new Float32Array(b * s.cond.length);
    ehs.set(s.uncond ?? s.cond, 0);
    if (b === 2) ehs.set(s.cond, s.cond.length);
    const base: Record<string, Feed> = {
      [io.sample.name]: io.feed(io.sample, sample, [b, ...shape.slice(1)]),
      [io.encoderHiddenStates.name]: io.feed(io.encoderHiddenStates, ehs, [b, s.cond.length / this.textDim, this.textDim]),
      ...io.conditioningFeeds(s.conditioning, b),
    };
    const stepFeeds = s.timesteps.map((t) => asTensors(unet, { ...base, [io.timestep.name]: io.timestepFeed(t, b) }));
    const vFeeds = asTensors(vae, { [io.vaeIn.name]: io.feed(io.vaeIn, s.latents, shape) });
    const out: number[] = [];
    for (let r = 0; r < this.runs; r++) {
      s.token.throwIfCancelled();
      out.push(
        await ortQueue.run(async () => {
          const t0 = now();
          for (const f of stepFeeds) {
            for (let k = 0; k < runsPerStep; k++) for (const t of Object.values(await unet.runDirect(f))) t.dispose();
          }
          const v: Record<string, OrtTensor> = await vae.runDirect(vFeeds);
          for (const t of Object.values(v)) {
            if (t.location !== 'cpu') await t.getData();
            t.dispose();
          }
          return now() - t0;
        }),
      );
    }
    return out;
  }
}
