/**
 * LoRA key layouts (src/engine/lora/keys.ts): PEFT/diffusers, older diffusers attention processors, kohya; alpha
 * from tensors, from PEFT's LoraConfig in the header (flat and `unet.`-prefixed, alpha_pattern, rsLoRA) or = rank;
 * text-encoder keys counted; adapter kinds that are not plain LoRA refused.
 */
import { describe, expect, it } from 'vitest';
import { loraScaling, moduleAlpha, normalizeLoraKeys } from '../src/engine/lora/keys';
import { encodeSafetensors, parseSafetensors } from '../src/engine/lora/safetensors';

const Q = 'down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q';

function lora(keys: string[], metadata?: Record<string, string>) {
  const tensors = Object.fromEntries(keys.map((k) => [k, { shape: k.endsWith('alpha') ? [] : [2, 2], values: new Float32Array(k.endsWith('alpha') ? [4] : [1, 2, 3, 4]) }]));
  return normalizeLoraKeys(parseSafetensors(encodeSafetensors(tensors, metadata), 'x.safetensors'));
}

describe('normalizeLoraKeys', () => {
  it('PEFT / diffusers: unet.<path>.lora_A/B.weight, with and without the unet. prefix, PEFT raw prefix and adapter name', () => {
    const n = lora([
      `unet.${Q}.lora_A.weight`,
      `unet.${Q}.lora_B.weight`,
      'unet.mid_block.resnets.0.conv1.lora_A.weight',
      'unet.mid_block.resnets.0.conv1.lora_B.weight',
      'base_model.model.up_blocks.0.attentions.0.transformer_blocks.0.ff.net.2.lora_A.default.weight',
      'base_model.model.up_blocks.0.attentions.0.transformer_blocks.0.ff.net.2.lora_B.default.weight',
      'down_blocks.1.resnets.0.time_emb_proj.lora_A.weight',
      'down_blocks.1.resnets.0.time_emb_proj.lora_B.weight',
    ]);
    const byPath = new Map(n.modules.map((m) => [m.path, m]));
    expect([...byPath.keys()].sort()).toEqual(
      [Q, 'down_blocks.1.resnets.0.time_emb_proj', 'mid_block.resnets.0.conv1', 'up_blocks.0.attentions.0.transformer_blocks.0.ff.net.2'].sort(),
    );
    const q = byPath.get(Q)!;
    expect(q).toMatchObject({ format: 'peft', underscored: false });
    expect(q.down!.name).toBe(`unet.${Q}.lora_A.weight`);
    expect(q.up!.name).toBe(`unet.${Q}.lora_B.weight`);
    expect(n.otherKeys).toEqual([]);
    expect(n.textEncoderKeys).toBe(0);
    expect(n.totalKeys).toBe(8);
  });

  it('older diffusers: processor.to_X_lora.down/up -> to_X (to_out_lora -> to_out.0), and lora.down/up', () => {
    const base = 'unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.processor';
    const n = lora([
      `${base}.to_q_lora.down.weight`,
      `${base}.to_q_lora.up.weight`,
      `${base}.to_out_lora.down.weight`,
      `${base}.to_out_lora.up.weight`,
      'mid_block.attentions.0.transformer_blocks.0.attn2.processor.to_k_lora.down.weight',
      'mid_block.attentions.0.transformer_blocks.0.attn2.processor.to_k_lora.up.weight',
      'unet.up_blocks.1.resnets.0.conv2.lora.down.weight',
      'unet.up_blocks.1.resnets.0.conv2.lora.up.weight',
    ]);
    const paths = n.modules.map((m) => m.path).sort();
    expect(paths).toEqual(
      [
        'down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q',
        'down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_out.0',
        'mid_block.attentions.0.transformer_blocks.0.attn2.to_k',
        'up_blocks.1.resnets.0.conv2',
      ].sort(),
    );
    expect(n.modules.every((m) => m.format === 'diffusers-old' && m.down && m.up)).toBe(true);
  });

  it('kohya: lora_unet_<underscored>.lora_down/lora_up/alpha, text-encoder keys counted, other keys listed', () => {
    const stem = 'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q';
    const n = lora([
      `${stem}.lora_down.weight`,
      `${stem}.lora_up.weight`,
      `${stem}.alpha`,
      'lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight',
      'lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight',
      'lora_te_text_model_encoder_layers_0_self_attn_q_proj.alpha',
      'text_encoder.text_model.encoder.layers.0.self_attn.q_proj.lora_A.weight',
      'lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_up.weight',
      'some_other_tensor',
    ]);
    expect(n.modules).toHaveLength(1);
    expect(n.modules[0]).toMatchObject({ path: 'down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q', underscored: true, format: 'kohya' });
    expect(n.modules[0].alpha!.name).toBe(`${stem}.alpha`);
    expect(n.modules[0].keys).toHaveLength(3);
    expect(n.textEncoderKeys).toBe(5);
    expect(n.otherKeys).toEqual(['some_other_tensor']);
  });

  it.each([
    ['LoHa (LyCORIS)', 'lora_unet_x.hada_w1_a'],
    ['LoKr (LyCORIS)', 'lora_unet_x.lokr_w1'],
    ['DoRA', `unet.${Q}.lora_magnitude_vector`],
    ['DoRA', 'lora_unet_x.dora_scale'],
    ["LoCon with a Tucker core ('lora_mid')", 'lora_unet_x.lora_mid.weight'],
  ])('refuses %s adapters (%s)', (kind, key) => {
    expect(() => lora([key])).toThrow(`x.safetensors is a ${kind} adapter (key "${key}")`);
  });
});

describe('alpha and scaling', () => {
  const peft = (meta?: Record<string, string>) => lora([`unet.${Q}.lora_A.weight`, `unet.${Q}.lora_B.weight`], meta);

  it('a module alpha tensor wins; kohya alpha 0 means alpha = rank', () => {
    const n = peft({ lora_adapter_metadata: JSON.stringify({ r: 8, lora_alpha: 2 }) });
    expect(moduleAlpha(n.modules[0], Q, 8, n.config, 16)).toBe(16);
    const k = lora(['lora_unet_a.lora_down.weight', 'lora_unet_a.lora_up.weight', 'lora_unet_a.alpha']);
    expect(moduleAlpha(k.modules[0], 'a', 8, k.config, 0)).toBe(8);
    expect(moduleAlpha(k.modules[0], 'a', 8, k.config, undefined)).toBe(8);
  });

  it('PEFT LoraConfig in the header: flat, unet.-prefixed (pipelines save_lora_weights), alpha_pattern, rsLoRA', () => {
    const flat = peft({ lora_adapter_metadata: JSON.stringify({ r: 64, lora_alpha: 8 }) });
    expect(flat.config).toMatchObject({ alpha: 8, rank: 64, rslora: false });
    expect(moduleAlpha(flat.modules[0], Q, 64, flat.config, undefined)).toBe(8);
    const prefixed = peft({ lora_adapter_metadata: JSON.stringify({ 'unet.r': 4, 'unet.lora_alpha': 2, 'unet.use_rslora': true }) });
    expect(prefixed.config).toMatchObject({ alpha: 2, rank: 4, rslora: true });
    expect(loraScaling(2, 4, true)).toBe(1);
    expect(loraScaling(8, 64, false)).toBe(0.125);
    const pattern = peft({ lora_adapter_metadata: JSON.stringify({ r: 4, lora_alpha: 4, alpha_pattern: { 'attn1.to_q': 1 } }) });
    expect(moduleAlpha(pattern.modules[0], Q, 4, pattern.config, undefined)).toBe(1);
    expect(moduleAlpha(pattern.modules[0], 'mid_block.attentions.0.transformer_blocks.0.attn1.to_k', 4, pattern.config, undefined)).toBe(4);
  });

  it('no alpha anywhere: alpha = rank (scale 1)', () => {
    const n = peft();
    expect(moduleAlpha(n.modules[0], Q, 16, n.config, undefined)).toBe(16);
  });

  it('unreadable lora_adapter_metadata is an error naming the file', () => {
    expect(() => peft({ lora_adapter_metadata: '{r: 8' })).toThrow(/x.safetensors: its __metadata__ "lora_adapter_metadata" is not JSON/);
  });
});
