// LoRA merge bench (issue 13 item 6): time and peak memory of merging a LoRA of realistic size into a U-Net of at
// least 1 GB, with the engine's merge (src/engine/lora/merge.ts mergeLoras), in Node.
//
//   node bench/lora.mjs                          # 1 GiB fp16 stand-in, rank 64 on 128 and on all 512 blocks
//   node bench/lora.mjs --blocks 64,512 --rank 32 --runs 2 --json out.json
//   node bench/lora.mjs --help
//
// The model: fixtures/generated/standins-large/sd-turbo-large (the load-memory bench's stand-in, bench/memory.mjs):
// its U-Net keeps 1 GiB of random fp16 weights in unet/model.onnx_data, 512 blocks `mid_block.bulk.<i>.weight` of
// 1024 x 1024, each read by a MatMul through a Cast to float32 (as fp16 exports with fp32 I/O do). Written by
// `python3 training/make_standins.py --large-unet-gib 1` when missing (a few minutes, 1 GiB of disk).
//
// The LoRA: written here as a safetensors file with PEFT keys (`unet.mid_block.bulk.<i>.lora_A.weight` [r, 1024],
// `.lora_B.weight` [1024, r], fp16 as LoRAs are shipped) on the first N blocks. Rank 64 on all 512 blocks is 134 MB,
// the size of the public LCM-LoRA for SD 1.5 (67.5M parameters); on 128 blocks 34 MB, a typical style LoRA.
//
// Measured, in a fresh process per run (nice 15, the machine is shared): the graph and its sidecar are read into
// memory as the loader reads them (one buffer per file), the LoRA file too; then the kernel's peak-RSS counter is
// reset (/proc/self/clear_refs <- 5) and mergeLoras runs on those buffers.
//   - merge ms: LoraMergeResult.ms (parse, key mapping, checks, arithmetic: wall time), and the CPU time of the call
//     (process.cpuUsage: steadier than wall time on a shared machine);
//   - peak RSS during the merge (VmHWM) and what the merge added to the RSS before it (peak - before), in bytes and
//     as a multiple of the model's bytes (graph + sidecar): the merge itself should add little (no copy of the model);
//   - process.memoryUsage().external / arrayBuffers before and after (the model and LoRA buffers are external memory).
// Results: bench/results/lora-<time>.json and a Markdown table on stdout.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import os from 'node:os';
import { bundleForNode, procStatus, runMeasuringChild } from './nodeBundle.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BUNDLE = join(ROOT, '.cache', 'bench', 'lora-node.mjs');
const LARGE = join(ROOT, 'fixtures', 'generated', 'standins-large', 'sd-turbo-large');
const PY = process.env.PYTHON || '/usr/bin/python3';
const MIB = 1024 * 1024;

const HELP = `node bench/lora.mjs [options]
  --model <folder>   pipeline folder whose unet/model.onnx (+ sidecar) takes the LoRA (default ${relative(ROOT, LARGE)})
  --gib <n>          size of the generated stand-in's U-Net weights in GiB when it is missing (default 1)
  --blocks <list>    LoRAs to time: how many of the stand-in's MatMul weights each one adapts (default 128,512)
  --rank <r>         LoRA rank (default 64)
  --runs <n>         fresh processes per LoRA (default 1)
  --kernel <k>       auto (WebAssembly SIMD where available, the engine's default) or js (the plain-JS fallback)
  --json <file>      also write the results there (always written to bench/results/lora-<time>.json)
  --help`;

/** @param {string[]} argv */
function parseArgs(argv) {
  /** @type {{ model: string, gib: number, blocks: number[], rank: number, runs: number, kernel: string, json: string | null, child: string | null }} */
  const o = { model: LARGE, gib: 1, blocks: [128, 512], rank: 64, runs: 1, kernel: 'auto', json: null, child: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--help' || a === '-h') {
      console.log(HELP);
      process.exit(0);
    } else if (a === '--model') o.model = resolve(val());
    else if (a === '--gib') o.gib = Number(val());
    else if (a === '--blocks') o.blocks = val().split(',').map(Number);
    else if (a === '--rank') o.rank = Number(val());
    else if (a === '--runs') o.runs = Number(val());
    else if (a === '--kernel') o.kernel = val();
    else if (a === '--json') o.json = resolve(val());
    else if (a === '--child') o.child = val();
    else throw new Error(`unknown option ${a} (see --help)`);
  }
  if (!(o.gib > 0)) throw new Error(`--gib needs a positive number, got ${o.gib}`);
  if (!o.blocks.every((b) => Number.isInteger(b) && b > 0)) throw new Error(`--blocks needs positive whole numbers, got ${o.blocks.join(',')}`);
  if (!(Number.isInteger(o.rank) && o.rank > 0)) throw new Error(`--rank needs a positive whole number, got ${o.rank}`);
  if (!(Number.isInteger(o.runs) && o.runs > 0)) throw new Error(`--runs needs a positive whole number, got ${o.runs}`);
  if (o.kernel !== 'auto' && o.kernel !== 'js') throw new Error(`--kernel is auto or js, got ${o.kernel}`);
  return o;
}

/** Bundle src/engine/lora (no onnxruntime-web in it) and the float16 helpers for plain Node, as bench/memory.mjs does. */
async function buildBundle() {
  await bundleForNode(ROOT, BUNDLE, (src) =>
      `export { mergeLoras, indexWeights } from ${src('lora/index.ts')};\nexport { createRowKernel, setRowKernel } from ${src('lora/kernel.ts')};\n` +
      `export { float32ToFloat16BitsInto } from ${src('float16.ts')};\n`, 'bench/lora.mjs');
}


/** The U-Net graph and the sidecars it names, as the loader hands them to the merge ({ path: location, data }). */
function readUnet(model) {
  const graph = new Uint8Array(readFileSync(join(model, 'unet', 'model.onnx')));
  const text = new TextDecoder('latin1').decode(graph.subarray(0, Math.min(graph.length, 1 << 20)));
  const external = [];
  for (const name of ['model.onnx_data', 'weights.pb']) {
    if (text.includes(name) && existsSync(join(model, 'unet', name))) external.push({ path: name, data: new Uint8Array(readFileSync(join(model, 'unet', name))) });
  }
  return { graph, external: external.length ? external : undefined };
}

/**
 * Write a PEFT-keyed fp16 LoRA for the first `blocks` MatMul/Conv weights of the U-Net (module order), rank `rank`,
 * streaming each tensor to disk (no file-sized buffer). Returns its bytes and the modules it adapts.
 */
function writeLora(lib, model, file, blocks, rank) {
  const { graph } = readUnet(model);
  const index = lib.indexWeights(graph, 'unet/model.onnx');
  const mods = [...index.modules.values()].filter((w) => w.dims.length >= 2 && w.dims.reduce((a, d) => a * d, 1) >= 1 << 16);
  if (mods.length < blocks) throw new Error(`the U-Net has ${mods.length} large MatMul/Conv weights, fewer than --blocks ${blocks}`);
  const chosen = mods.slice(0, blocks);
  const tensors = [];
  for (const w of chosen) {
    const [out, inner] = w.op === 'Conv' ? [w.dims[0], w.dims.slice(1).reduce((a, d) => a * d, 1)] : w.transposed ? [w.dims[1], w.dims[0]] : [w.dims[0], w.dims[1]];
    const aShape = w.op === 'Conv' ? [rank, ...w.dims.slice(1)] : [rank, inner];
    const bShape = w.op === 'Conv' ? [out, rank, 1, 1] : [out, rank];
    tensors.push({ name: `unet.${w.module}.lora_A.weight`, shape: aShape, n: rank * inner });
    tensors.push({ name: `unet.${w.module}.lora_B.weight`, shape: bShape, n: out * rank });
  }
  tensors.sort((a, b) => (a.name < b.name ? -1 : 1));
  const header = {};
  let off = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: 'F16', shape: t.shape, data_offsets: [off, off + 2 * t.n] };
    off += 2 * t.n;
  }
  header.__metadata__ = { lora_adapter_metadata: JSON.stringify({ r: rank, lora_alpha: rank / 2, peft_type: 'LORA' }) };
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const head = Buffer.from(json);
  const fd = openSync(file, 'w');
  try {
    const n = Buffer.alloc(8);
    n.writeBigUInt64LE(BigInt(head.length));
    writeSync(fd, n);
    writeSync(fd, head);
    let seed = 1;
    for (const t of tensors) {
      const f = new Float32Array(t.n);
      for (let i = 0; i < t.n; i++) {
        seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
        f[i] = (seed / 2 ** 32 - 0.5) * 0.04;
      }
      const h = new Uint16Array(t.n);
      lib.float32ToFloat16BitsInto(f, h);
      writeSync(fd, new Uint8Array(h.buffer));
    }
  } finally {
    closeSync(fd);
  }
  return { bytes: 8 + head.length + off, modules: chosen.length };
}

// ------------------------------------------------------------------------------------------------------- child
async function child(spec) {
  const { model, lora, kernel } = JSON.parse(spec);
  const lib = await import(pathToFileURL(BUNDLE).href);
  lib.setRowKernel(kernel);
  const kernelKind = lib.createRowKernel().kind;
  const { graph, external } = readUnet(model);
  const loraBytes = new Uint8Array(readFileSync(lora));
  const modelBytes = graph.byteLength + (external ?? []).reduce((n, e) => n + e.data.byteLength, 0);
  for (let i = 0; i < 3; i++) globalThis.gc?.();
  const before = { ...process.memoryUsage(), ...procStatus() };
  let hwmReset = false;
  try {
    // 5 = reset the peak RSS (VmHWM) to the current RSS (Documentation/filesystems/proc.rst, clear_refs).
    await writeFile('/proc/self/clear_refs', '5');
    hwmReset = (procStatus().hwm ?? Infinity) <= (before.rss ?? 0) * 1.05;
  } catch {
    hwmReset = false;
  }
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const res = lib.mergeLoras(graph, external, [{ name: 'bench', bytes: loraBytes, scale: 1 }], 'unet/model.onnx');
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const peak = procStatus();
  const after = { ...process.memoryUsage(), ...procStatus() };
  process.stdout.write(
    `${JSON.stringify({ node: process.version, kernel: kernelKind, modelBytes, loraBytes: loraBytes.byteLength, mergeMs: res.ms, wallMs, cpuMs, weightsChanged: res.weightsChanged, report: res.adapters[0], hwmReset, before, peakRss: hwmReset ? peak.hwm : null, after })}\n`,
  );
  process.exit(0);
}

// ------------------------------------------------------------------------------------------------------ parent
function runChild(model, lora, kernel) {
  return runMeasuringChild(ROOT, fileURLToPath(import.meta.url), ['--expose-gc', '--max-old-space-size=4096'], { model, lora, kernel });
}

const mib = (b) => (b === null || b === undefined ? 'n/a' : `${(b / MIB).toFixed(0)} MiB`);
const mb = (b) => `${(b / 1e6).toFixed(1)} MB`;
const ratio = (a, b) => (a === null ? 'n/a' : (a / b).toFixed(2));

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.child) return child(opts.child);
  if (!existsSync(join(opts.model, 'unet', 'model.onnx'))) {
    if (resolve(opts.model) !== LARGE) throw new Error(`${opts.model} has no unet/model.onnx`);
    console.error(`bench/lora: writing the ${opts.gib} GiB stand-in to ${relative(ROOT, LARGE)} (training/make_standins.py --large-unet-gib ${opts.gib}) ...`);
    const r = spawnSync('nice', ['-n', '15', PY, join(ROOT, 'training', 'make_standins.py'), '--large-unet-gib', String(opts.gib)], { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`training/make_standins.py failed (exit ${r.status}); it needs ${PY} with numpy and onnx (or set PYTHON)`);
  }
  console.error('bench/lora: bundling src/engine/lora for Node ...');
  await buildBundle();
  const lib = await import(`${pathToFileURL(BUNDLE).href}?t=${Date.now()}`);
  const cache = join(ROOT, '.cache', 'bench');
  const rows = [];
  for (const blocks of opts.blocks) {
    const file = join(cache, `lora-r${opts.rank}-${blocks}.safetensors`);
    const made = writeLora(lib, opts.model, file, blocks, opts.rank);
    for (let i = 0; i < opts.runs; i++) {
      console.error(`bench/lora: rank ${opts.rank} on ${made.modules} weights (${mb(made.bytes)}), run ${i + 1}/${opts.runs} ...`);
      const r = await runChild(opts.model, file, opts.kernel);
      const added = r.peakRss === null ? null : r.peakRss - r.before.rss;
      rows.push({ blocks: made.modules, rank: opts.rank, ...r, addedPeak: added, ratioAdded: added === null ? null : added / r.modelBytes, ratioPeak: r.peakRss === null ? null : r.peakRss / r.modelBytes });
    }
  }
  const result = {
    when: new Date().toISOString(),
    model: relative(ROOT, opts.model) || opts.model,
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memBytes: os.totalmem(), load: os.loadavg() },
    rows,
  };
  const dir = join(ROOT, 'bench', 'results');
  await mkdir(dir, { recursive: true });
  const out = join(dir, `lora-${result.when.replace(/[:.]/g, '-')}.json`);
  await writeFile(out, JSON.stringify(result, null, 2));
  if (opts.json) await writeFile(opts.json, JSON.stringify(result, null, 2));

  console.log(`\nLoRA merge into ${result.model} (model bytes ${mib(rows[0].modelBytes)}; Node ${rows[0].node}; load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores)\n`);
  console.log('| LoRA | file | kernel | weights changed | merge ms (wall) | merge CPU ms | RSS before | peak RSS | added by merge | added / model | peak / model | external before -> after |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(
      `| rank ${r.rank} x ${r.blocks} | ${mb(r.loraBytes)} | ${r.kernel} | ${r.weightsChanged} | ${r.mergeMs.toFixed(0)} | ${r.cpuMs.toFixed(0)} | ${mib(r.before.rss)} | ${mib(r.peakRss)} | ${mib(r.addedPeak)} | **${ratio(r.addedPeak, r.modelBytes)}** | ${ratio(r.peakRss, r.modelBytes)} | ${mib(r.before.external)} -> ${mib(r.after.external)} |`,
    );
  }
  if (rows.some((r) => r.peakRss === null)) console.log('\nThe peak-RSS counter could not be reset here (/proc/self/clear_refs): no peak numbers.');
  console.log(`written: ${relative(ROOT, out)}`);
}

main().catch((e) => {
  console.error(`bench/lora: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
