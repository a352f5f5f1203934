/** Test fixture: models/loras/index.json as training/export_loras.py writes it (two LoRAs for fewstep-teacher). */
export const LORA_INDEX_FIXTURE: unknown = [
  {
    file: 'fewstep-lcm-lora.safetensors',
    name: 'LCM-LoRA (fewstep-teacher)',
    kind: 'lcm',
    base: ['fewstep-teacher'],
    format: 'peft',
    rank: 8,
    alpha: 8,
    defaultScale: 1.0,
    recommended: { sampler: 'lcm', steps: 4, guidance_scale: 1.0, guidanceRange: [1, 2] },
    description: 'LCM-LoRA for fewstep-teacher.',
    bytes: 335824,
  },
  {
    file: 'fewstep-style-ink.safetensors',
    name: 'Ink style',
    kind: 'style',
    base: ['fewstep-teacher'],
    format: 'kohya',
    rank: 8,
    alpha: 8,
    defaultScale: 0.8,
    recommended: null,
    description: 'Thick dark outlines and a drop shadow.',
    bytes: 344528,
  },
];
