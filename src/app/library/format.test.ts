import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateCatalog } from '../../engine';
import { chunkSizeFrom, describeSize, entrySize, formatEta, formatPercent, formatSpeed, hubBaseFrom, planFolder, slugId } from './format';

const catalog = validateCatalog(JSON.parse(readFileSync(new URL('../../../models/catalog.json', import.meta.url), 'utf8')));
const ORIGIN = 'http://localhost:4179';
const blob = (n = 1) => new Blob([new Uint8Array(n)]);
const EXPORT = [
  'model_index.json',
  'scheduler/scheduler_config.json',
  'tokenizer/tokenizer.json',
  'tokenizer/tokenizer_config.json',
  'text_encoder/model.onnx',
  'unet/model.onnx',
  'unet/config.json',
  'vae_decoder/model.onnx',
];

describe('progress formatting', () => {
  it('speed, ETA and percent', () => {
    expect(formatSpeed(0)).toBe('—');
    expect(formatSpeed(Number.NaN)).toBe('—');
    expect(formatSpeed(3.5 * 1024 * 1024)).toBe('3.5 MiB/s');
    expect(formatEta(null)).toBe('—');
    expect(formatEta(44.6)).toBe('45 s');
    expect(formatEta(185)).toBe('3 min 05 s');
    expect(formatEta(3720)).toBe('1 h 02 min');
    expect(formatPercent(12.345)).toBe('12.3%');
    expect(formatPercent(100)).toBe('100%');
  });
});

describe('catalog summaries', () => {
  it('counts known sizes and files whose size the hub must report (tokenizer from another repo included)', () => {
    const turbo = catalog.models.find((m) => m.id === 'sd-turbo')!;
    expect(entrySize(turbo)).toEqual({ known: 0, unknownFiles: 5, files: 5 });
    expect(describeSize(turbo)).toMatch(/5 files, size asked from the hub/);
    const sized = { ...turbo, files: turbo.files.map((f) => ({ ...f, size: 1024 })), tokenizer: { ...turbo.tokenizer, files: [] } } as typeof turbo;
    expect(describeSize(sized)).toBe('3.0 KiB');
  });
});

describe('hub base and chunk size from the query', () => {
  it('accepts this origin and huggingface.co only', () => {
    expect(hubBaseFrom('', ORIGIN)).toEqual({ hubBase: 'https://huggingface.co', warning: null });
    expect(hubBaseFrom('?hub=/__hub/', ORIGIN)).toEqual({ hubBase: `${ORIGIN}/__hub`, warning: null });
    expect(hubBaseFrom('?hub=https://huggingface.co', ORIGIN).hubBase).toBe('https://huggingface.co');
    const evil = hubBaseFrom('?hub=https://evil.example/models', ORIGIN);
    expect(evil.hubBase).toBe('https://huggingface.co');
    expect(evil.warning).toMatch(/only this site's own origin/);
    expect(hubBaseFrom('?hub=http://localhost:9999', ORIGIN).warning).not.toBeNull();
  });
  it('chunk size in KiB within 16 KiB..64 MiB', () => {
    expect(chunkSizeFrom('?chunkKiB=64')).toBe(65536);
    expect(chunkSizeFrom('?chunkKiB=8')).toBeUndefined();
    expect(chunkSizeFrom('?chunkKiB=abc')).toBeUndefined();
    expect(chunkSizeFrom('')).toBeUndefined();
  });
});

describe('planFolder', () => {
  it('strips the picked folder name and accepts a complete export', () => {
    const plan = planFolder([...EXPORT.map((p) => ({ path: `my-export/${p}`, file: blob(2) })), { path: 'my-export/.DS_Store', file: blob() }]);
    expect(plan.error).toBeNull();
    expect(plan.root).toBe('my-export');
    expect(plan.files.map((f) => f.path).sort()).toEqual([...EXPORT].sort());
    expect(plan.bytes).toBe(EXPORT.length * 2);
  });
  it('works on files picked at the export root, and Windows separators', () => {
    const plan = planFolder(EXPORT.map((p) => ({ path: p.replace(/\//g, '\\'), file: blob() })));
    expect(plan.error).toBeNull();
    expect(plan.root).toBe('');
  });
  it('names each missing file, with what it is for', () => {
    const plan = planFolder(EXPORT.filter((p) => p !== 'unet/model.onnx').map((p) => ({ path: `broken/${p}`, file: blob() })));
    expect(plan.check.missing).toEqual(['unet/model.onnx']);
    expect(plan.error).toMatch(/The folder "broken" is not a complete diffusers ONNX export\. Missing unet\/model\.onnx \(the UNet \(denoiser\) graph\)\./);
    const two = planFolder(EXPORT.filter((p) => !p.startsWith('tokenizer/')).map((p) => ({ path: `x/${p}`, file: blob() })));
    expect(two.check.missing).toEqual(['tokenizer/tokenizer.json', 'tokenizer/tokenizer_config.json']);
  });
  it('a webnn/sdxl-turbo folder (flat onnx/ graphs, no scheduler config) is the sdxl-turbo entry\'s export', () => {
    const files = [
      'onnx/text_encoder_model_q4f16.onnx', 'onnx/text_encoder_2_model_q4f16.onnx', 'onnx/unet_model_q4f16.onnx', 'onnx/vae_decoder_model_q4f16.onnx',
      'tokenizer/tokenizer.json', 'tokenizer/tokenizer_config.json', 'tokenizer_2/tokenizer.json', 'tokenizer_2/tokenizer_config.json',
    ];
    const plan = planFolder(files.map((p) => ({ path: `sdxl-turbo/${p}`, file: blob() })), catalog.models);
    expect(plan.error).toBeNull();
    expect(plan.entry?.id).toBe('sdxl-turbo');
    const alone = planFolder(files.map((p) => ({ path: `sdxl-turbo/${p}`, file: blob() })));
    expect(alone.entry).toBeNull();
    expect(alone.check.missing).toEqual(['scheduler/scheduler_config.json']);
  });
  it('a tokenizer as vocab.json + merges.txt is complete; a plain SD export matches no catalog entry', () => {
    const files = [...EXPORT.filter((p) => p !== 'tokenizer/tokenizer.json'), 'tokenizer/vocab.json', 'tokenizer/merges.txt', 'tokenizer/special_tokens_map.json'];
    const plan = planFolder(files.map((p) => ({ path: `sd21/${p}`, file: blob() })), catalog.models);
    expect(plan.error).toBeNull();
    expect(plan.entry).toBeNull();
  });
  it('an empty pick says what to pick', () => {
    expect(planFolder([]).error).toMatch(/empty/);
  });
  it('slug ids are storage-safe', () => {
    expect(slugId('folder', 'My Export (v2)')).toBe('folder-my-export-v2');
    expect(slugId('custom', 'https://huggingface.co/a/b/resolve/main')).toBe('custom-huggingface.co-a-b-resolve-main');
    expect(slugId('folder', '///')).toBe('folder-model');
  });
});
