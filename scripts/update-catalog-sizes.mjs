#!/usr/bin/env node
// Fill `size` and `sha256` of the shipped entries of models/catalog.json from the files in models/ on disk, and
// derive resolution/latentSize from unet/config.json (sample_size, in_channels) and vae_decoder/config.json
// (block_out_channels -> scale factor). External-data files (model.onnx_data) found next to a listed model.onnx
// are added. Shipped LoRA adapters (`loras`) get their file's size and sha256. Remote entries are left alone.
//
//   node scripts/update-catalog-sizes.mjs            rewrite models/catalog.json
//   node scripts/update-catalog-sizes.mjs --check    exit 1 if the catalog is out of date (CI)
//   options: --catalog PATH  --root DIR (repo root that local source paths are relative to)

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const check = args.includes('--check');
const root = resolve(opt('--root', join(here, '..')));
const catalogPath = resolve(opt('--catalog', join(root, 'models', 'catalog.json')));

async function sha256(path) {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk);
  return h.digest('hex');
}

async function statOrNull(path) {
  try {
    const s = await stat(path);
    return s.isFile() ? s : null;
  } catch {
    return null;
  }
}

async function readJson(path) {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch {
    return null;
  }
}

const before = await readFile(catalogPath, 'utf8');
const catalog = JSON.parse(before);
const warnings = [];
let filled = 0;

for (const entry of catalog.models) {
  if (entry.kind !== 'shipped' || entry.source?.type !== 'local') continue;
  const dir = resolve(root, entry.source.path);
  // External data sidecars present on disk but not yet listed.
  for (const f of [...entry.files]) {
    if (!f.path.endsWith('.onnx')) continue;
    const side = `${f.path}_data`;
    if (!entry.files.some((g) => g.path === side) && (await statOrNull(join(dir, side)))) entry.files.push({ path: side, size: null });
  }
  let weightBytes = 0;
  const missing = [];
  for (const f of entry.files) {
    const p = join(dir, f.path);
    const s = await statOrNull(p);
    if (!s) {
      if (!f.optional) missing.push(f.path);
      continue;
    }
    f.size = s.size;
    f.sha256 = await sha256(p);
    if (/\.onnx(_data)?$/.test(f.path)) weightBytes += s.size;
    filled++;
  }
  if (missing.length === entry.files.length) warnings.push(`${entry.id}: ${entry.source.path}/ has none of its files yet; entry left as it is`);
  else if (missing.length) warnings.push(`${entry.id}: missing in ${entry.source.path}/: ${missing.join(', ')} (sizes left as they are)`);
  const unet = await readJson(join(dir, 'unet', 'config.json'));
  const vae = await readJson(join(dir, 'vae_decoder', 'config.json'));
  if (unet?.sample_size) {
    const latent = Array.isArray(unet.sample_size) ? unet.sample_size : [unet.sample_size, unet.sample_size];
    // Our own VAE's config records the image size (sample_size); diffusers exports follow 2^(blocks-1).
    const scale =
      typeof vae?.sample_size === 'number' && vae.sample_size / latent[0] === 8
        ? 8
        : Array.isArray(vae?.block_out_channels) ? 2 ** (vae.block_out_channels.length - 1) : 8;
    entry.latentSize = { width: latent[1], height: latent[0], channels: unet.in_channels ?? vae?.latent_channels ?? 4 };
    entry.resolution = { width: latent[1] * scale, height: latent[0] * scale };
    if (scale !== 8) warnings.push(`${entry.id}: VAE scale factor is ${scale}, not 8; validateCatalog expects 8 (update catalog.ts if intended)`);
  } else if (missing.length < entry.files.length) {
    warnings.push(`${entry.id}: no unet/config.json sample_size; resolution/latentSize left as they are`);
  }
  if (weightBytes > 0) entry.approxVramMB = Math.ceil((weightBytes / 2 ** 20) * 1.5 + 16);
}

// Shipped LoRA adapters (catalog `loras`): size and sha256 of their one file, from the same local folder.
for (const lora of catalog.loras ?? []) {
  if (lora.kind !== 'shipped' || lora.source?.type !== 'local') continue;
  for (const f of lora.files) {
    const p = join(resolve(root, lora.source.path), f.path);
    const s = await statOrNull(p);
    if (!s) {
      warnings.push(`${lora.id}: ${lora.source.path}/${f.path} is not there yet; size left as it is`);
      continue;
    }
    f.size = s.size;
    f.sha256 = await sha256(p);
    filled++;
  }
}

const after = `${JSON.stringify(catalog, null, 2)}\n`;
for (const w of warnings) console.warn(`warning: ${w}`);
if (check) {
  if (after !== before) {
    console.error(`${catalogPath} is out of date: run node scripts/update-catalog-sizes.mjs`);
    process.exit(1);
  }
  console.log(`${catalogPath} is up to date`);
} else {
  if (after !== before) await writeFile(catalogPath, after);
  console.log(`${filled} file(s) measured; ${after !== before ? 'catalog updated' : 'no change'}`);
}
