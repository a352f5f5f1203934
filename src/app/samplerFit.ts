/**
 * Whether the sampler picked in the form suits the loaded model, from the model's own scheduler
 * (scheduler/scheduler_config.json `_class_name`, ModelInfo.schedulerClass) rather than a list of model ids.
 *
 * Families: consistency models (diffusers' CMStochasticIterativeScheduler, e.g. iCT) are parameterised in sigma
 * space (c_skip, c_out), so only CM multistep reads their output and CM multistep misreads every other model's
 * output (epsilon / v / sample prediction): coloured blobs on the teacher. LCMScheduler is made for latent
 * consistency models and LCM-LoRA (Luo et al. 2023): on a model not distilled for it, it is not broken but gives
 * worse images than the model's own sampler. The other samplers (DDIM, DDPM, Euler, Euler a, DPM++ 2M, TCD) share
 * the diffusion parameterisation and are offered without a caption.
 */
import { samplerClassFor, samplerLabel } from '../schedulers';

const CM = 'CMStochasticIterativeScheduler';
const LCM = 'LCMScheduler';

export interface SamplerFit {
  /** 'broken': the image will not be a picture (misread model output); 'poor': works, but worse than its own. */
  level: 'broken' | 'poor';
  /** One sentence for the caption under the sampler picker. */
  message: string;
}

/**
 * The caption for `sampler` (the override: class name, label or alias; '' = the model's own) on a model whose own
 * scheduler class is `ownClass`. Null when it fits: the model's own, a sampler of the same family, no model loaded
 * (`ownClass` ''), or LCM while an LCM-LoRA is applied (`lcmLora`), which is what the LoRA is for.
 */
export function samplerFit(sampler: string, ownClass: string, opts: { lcmLora?: boolean } = {}): SamplerFit | null {
  if (!sampler || !ownClass) return null;
  const chosen = samplerClassFor(sampler);
  if (chosen === ownClass) return null;
  const label = samplerLabel(chosen);
  const own = samplerLabel(ownClass);
  const back = `Pick "Model's own" (${own}) for a proper image.`;
  if (chosen === CM) {
    return { level: 'broken', message: `${label} is the sampler of consistency models; this model is not one (its own sampler is ${own}), so ${label} misreads its output and draws coloured blobs. ${back}` };
  }
  if (ownClass === CM) {
    return { level: 'broken', message: `This is a consistency model: only CM multistep reads its output; ${label} misreads it and will not draw the prompt. ${back}` };
  }
  if (chosen === LCM && !opts.lcmLora) {
    return { level: 'poor', message: `${label} is made for latent consistency models (or a model with an LCM-LoRA applied); this model was not distilled for it (its own sampler is ${own}), so expect a worse image.` };
  }
  return null;
}
