import { describe, expect, it } from 'vitest';
import { EngineError } from './errors';
import { buildLayout, parseDefaults, parseJsonFile, samplerClass, validateModelIndex } from './layout';

const index = {
  _class_name: 'OnnxStableDiffusionPipeline',
  scheduler: ['diffusers', 'DDIMScheduler'],
  text_encoder: ['diffusers', 'OnnxRuntimeModel'],
  tokenizer: ['transformers', 'CLIPTokenizer'],
  unet: ['diffusers', 'OnnxRuntimeModel'],
  vae_decoder: ['diffusers', 'OnnxRuntimeModel'],
};
const sched = { _class_name: 'EulerDiscreteScheduler', timestep_spacing: 'trailing' };

describe('layout parsing', () => {
  it('parses a complete layout with configs', () => {
    const l = buildLayout({
      modelIndex: { ...index, fewstep: { default_steps: 2, guidance_scale: 0, sampler: 'euler', allowed_steps: [1, 2, 4, 'x'] } },
      schedulerConfig: sched,
      unetConfig: { sample_size: 8, in_channels: 4, time_cond_proj_dim: 256 },
      vaeConfig: { scaling_factor: 0.5 },
      textEncoderConfig: { hidden_size: 64 },
    });
    expect(l.scalingFactor).toBe(0.5);
    expect(l.timeCondProjDim).toBe(256);
    expect(l.defaults).toEqual({ steps: 2, guidanceScale: 0, sampler: 'EulerDiscreteScheduler', allowedSteps: [1, 2, 4], description: '' });
  });

  it('uses SD defaults when component configs are absent', () => {
    const l = buildLayout({ modelIndex: index, schedulerConfig: sched, unetConfig: null, vaeConfig: null, textEncoderConfig: null });
    expect(l.scalingFactor).toBe(0.18215);
    expect(l.timeCondProjDim).toBeNull();
    expect(l.defaults.sampler).toBe('EulerDiscreteScheduler');
  });

  it('names missing components', () => {
    const { unet: _u, vae_decoder: _v, ...partial } = index;
    expect(() => validateModelIndex(partial)).toThrow(/unet, vae_decoder/);
    try {
      validateModelIndex(partial);
    } catch (e) {
      expect((e as EngineError).code).toBe('MODEL_LAYOUT_INVALID');
      expect((e as EngineError).file).toBe('model_index.json');
    }
  });

  it('rejects a model index without _class_name and a scheduler config without a class', () => {
    expect(() => validateModelIndex({})).toThrow(/_class_name/);
    expect(() => buildLayout({ modelIndex: index, schedulerConfig: {}, unetConfig: null, vaeConfig: null, textEncoderConfig: null })).toThrow(
      /scheduler_config\.json has no "_class_name"/,
    );
  });

  it('rejects a non-positive scaling factor', () => {
    expect(() =>
      buildLayout({ modelIndex: index, schedulerConfig: sched, unetConfig: null, vaeConfig: { scaling_factor: 0 }, textEncoderConfig: null }),
    ).toThrow(/scaling_factor must be positive/);
  });

  it('reports corrupt JSON with the file name', () => {
    expect(() => parseJsonFile('{"a":', 'unet/config.json')).toThrow(/unet\/config\.json is not valid JSON/);
    expect(() => parseJsonFile('[1,2]', 'model_index.json')).toThrow(/must hold a JSON object/);
    expect(parseJsonFile(new TextEncoder().encode('{"a":1}').buffer, 'x.json')).toEqual({ a: 1 });
  });

  it('maps sampler aliases and keeps class names', () => {
    expect(samplerClass('ddim')).toBe('DDIMScheduler');
    expect(samplerClass('Euler_A')).toBe('EulerAncestralDiscreteScheduler');
    expect(samplerClass('LCMScheduler')).toBe('LCMScheduler');
    expect(parseDefaults({}, { _class_name: 'LCMScheduler' }).sampler).toBe('LCMScheduler');
  });
});

describe('parseDefaults: a scheduler class the engine does not implement', () => {
  it('PNDMScheduler (SD 1.x / 2.x exports) runs as DDIMScheduler, LMS as Euler; unknown classes are kept; fewstep.sampler wins', () => {
    expect(parseDefaults({}, { _class_name: 'PNDMScheduler' }).sampler).toBe('DDIMScheduler');
    expect(parseDefaults({}, { _class_name: 'LMSDiscreteScheduler' }).sampler).toBe('EulerDiscreteScheduler');
    expect(parseDefaults({}, { _class_name: 'KDPM2DiscreteScheduler' }).sampler).toBe('KDPM2DiscreteScheduler');
    expect(parseDefaults({ fewstep: { sampler: 'lcm' } }, { _class_name: 'PNDMScheduler' }).sampler).toBe('LCMScheduler');
  });
});
