// Load-memory bench (issue 12 item 6): how much memory loading a large pipeline takes, relative to its size.
//
//   node bench/memory.mjs                         # the >= 1 GiB stand-in, WASM, in Node; builds what it needs
//   node bench/memory.mjs --model <folder> --runs 3 --json out.json
//   node bench/memory.mjs --help
//
// What it measures. A fresh Node process (one per run, `--liftoff-only` as bin/fewstep.mjs, 1 WASM thread) loads
// the pipeline folder through the engine exactly as the CLI does: `EngineHandler` `load` request, `files` model ref
// of `openAsBlob` blobs (src/engine/nodeHost.ts folderFiles: sidecars read on demand; --whole: read whole), provider wasm. Before that it loads and unloads the
// small fixture (fixtures/generated/tiny) so that the ORT runtime (its 26 MB wasm, compiled code, first heap) is
// already in the baseline, then resets the kernel's peak-RSS counter (`/proc/self/clear_refs` <- 5, Linux >= 4.0).
//   - peak RSS: VmHWM of /proc/self/status after the load: the exact peak resident set of the whole process (JS heap,
//     ArrayBuffers, the WASM memory, native allocations), not a sample;
//   - added peak = peak RSS - RSS just before the load; ratio = added peak / model bytes (the goal is <= 1.3);
//   - settled = RSS after the load and a full GC, minus the same baseline (what stays while the model is loaded);
//   - sampled peaks (every 5 ms and at every progress event) of process.memoryUsage(): heapUsed, external,
//     arrayBuffers (JS-side bytes: the file buffers the loader holds; the WASM heap is not in them);
//   - load ms: the engine's ModelInfo.loadMs (JSON to last session) and the wall time of the request.
// Model bytes = the sum of the folder's files (the ONNX graphs and sidecars are all but a few KB of it).
//
// The model: fixtures/generated/standins-large/sd-turbo-large (the sd-turbo stand-in with >= 1 GiB of fp16 UNet
// weights in unet/model.onnx_data), written by `python3 training/make_standins.py --large-unet-gib 1` when missing
// (about 1 GiB of disk, a few minutes). Results: bench/results/memory-<time>.json and a Markdown table on stdout.
import { spawnSync } from 'node:child_process';
import { existsSync, openAsBlob } from 'node:fs';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import os from 'node:os';
import { bundleForNode, procStatus, runMeasuringChild } from './nodeBundle.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BUNDLE = join(ROOT, '.cache', 'bench', 'engine-node.mjs');
const LARGE = join(ROOT, 'fixtures', 'generated', 'standins-large', 'sd-turbo-large');
const TINY = join(ROOT, 'fixtures', 'generated', 'tiny');
const PY = process.env.PYTHON || '/usr/bin/python3';
const MIB = 1024 * 1024;

const HELP = `node bench/memory.mjs [options]
  --model <folder>   pipeline folder to load (default ${relative(ROOT, LARGE)}, generated when missing)
  --gib <n>          size of the generated stand-in's UNet weights in GiB (default 1)
  --runs <n>         fresh processes, one load each (default 1)
  --no-warmup        do not load the tiny fixture first (the ORT runtime then counts as model memory)
  --whole            read every sidecar whole into JS before its session (plain Blobs, no on-demand reads: the
                     loader's path for sources without synchronous reads, e.g. downloads)
  --json <file>      also write the results there (always written to bench/results/memory-<time>.json)
  --help`;

/** @param {string[]} argv */
function parseArgs(argv) {
  /** @type {{ model: string, gib: number, runs: number, warmup: boolean, whole: boolean, json: string | null, child: string | null }} */
  const o = { model: LARGE, gib: 1, runs: 1, warmup: true, whole: false, json: null, child: null };
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
    else if (a === '--runs') o.runs = Number(val());
    else if (a === '--no-warmup') o.warmup = false;
    else if (a === '--whole') o.whole = true;
    else if (a === '--json') o.json = resolve(val());
    else if (a === '--child') o.child = val();
    else throw new Error(`unknown option ${a} (see --help)`);
  }
  if (!(o.gib > 0)) throw new Error(`--gib needs a positive number, got ${o.gib}`);
  if (!(Number.isInteger(o.runs) && o.runs > 0)) throw new Error(`--runs needs a positive whole number, got ${o.runs}`);
  return o;
}

/** Every regular file under `dir` as `{ path, size }` (paths relative to `dir`, '/'-separated). */
async function listFiles(dir) {
  const out = [];
  const walk = async (d) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const p = join(d, e.name);
      const s = await stat(p);
      if (s.isDirectory()) await walk(p);
      else if (s.isFile()) out.push({ path: relative(dir, p).split('\\').join('/'), abs: p, size: s.size });
    }
  };
  await walk(dir);
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

/**
 * Bundle the engine pieces the child needs (EngineHandler, configureOrt) into one ES module for plain Node, the way
 * bin/build.mjs bundles the CLI (Vite SSR; packages stay imports resolved from node_modules). Always rebuilt: it
 * takes seconds and a stale bundle would measure old code.
 */
async function buildBundle() {
  await bundleForNode(ROOT, BUNDLE, (src) => `export { EngineHandler } from ${src('handler.ts')};\nexport { configureOrt, ortVersion } from ${src('ort.ts')};\nexport { folderFiles } from ${src('nodeHost.ts')};\n`, 'bench/memory.mjs');
}


// ------------------------------------------------------------------------------------------------------- child
async function child(spec) {
  const { model, warmup, whole } = JSON.parse(spec);
  const { EngineHandler, configureOrt, ortVersion, folderFiles } = await import(pathToFileURL(BUNDLE).href);
  configureOrt({ numThreads: 1 });
  const events = [];
  /** @type {(ev: unknown) => void} */
  let onEvent = () => {};
  const h = new EngineHandler((ev) => {
    events.push(ev);
    onEvent(ev);
  });
  const load = async (id, dir) => {
    // As the CLI: folderFiles' blobs have synchronous readers (sidecars read on demand). --whole: plain openAsBlob
    // blobs, which the loader reads whole.
    const files = whole
      ? await Promise.all((await listFiles(dir)).map(async (f) => ({ path: f.path, blob: await openAsBlob(f.abs) })))
      : await folderFiles(dir);
    await h.handle({ id, type: 'load', provider: 'wasm', model: { id, name: id, kind: 'files', files } });
    const done = events.find((e) => e.id === id && e.type !== 'load-progress');
    if (done?.type !== 'loaded') throw new Error(`loading ${dir} failed: ${JSON.stringify(done?.type === 'error' ? done.error : done)}`);
    return done.model;
  };
  const gc = async () => {
    for (let i = 0; i < 3; i++) {
      globalThis.gc?.();
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  if (warmup && existsSync(join(TINY, 'model_index.json'))) {
    await load('warmup', TINY);
    await h.handle({ id: 'U', type: 'unload' });
  }
  events.length = 0;
  await gc();
  const before = { ...process.memoryUsage(), ...procStatus() };
  let hwmReset = false;
  try {
    // 5 = reset the peak RSS (VmHWM) to the current RSS (Documentation/filesystems/proc.rst, clear_refs).
    await writeFile('/proc/self/clear_refs', '5');
    hwmReset = (procStatus().hwm ?? Infinity) <= (before.rss ?? 0) * 1.05;
  } catch {
    hwmReset = false;
  }
  const peaks = { rss: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
  const sample = () => {
    const m = process.memoryUsage();
    for (const k of Object.keys(peaks)) peaks[k] = Math.max(peaks[k], m[k]);
  };
  onEvent = sample;
  const timer = setInterval(sample, 5);
  const t0 = performance.now();
  const info = await load('big', model);
  const wallMs = performance.now() - t0;
  clearInterval(timer);
  sample();
  const peakStatus = procStatus();
  await gc();
  const settled = { ...process.memoryUsage(), ...procStatus() };
  const out = {
    ort: ortVersion(),
    node: process.version,
    hwmReset,
    before,
    peakRss: hwmReset ? peakStatus.hwm : null,
    sampledPeaks: peaks,
    settled,
    loadMs: info.loadMs,
    wallMs,
    provider: info.provider,
    providerReason: info.providerReason,
    engineBytes: info.bytes,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exit(0);
}

// ------------------------------------------------------------------------------------------------------ parent
function runChild(opts) {
  return runMeasuringChild(ROOT, fileURLToPath(import.meta.url), ['--liftoff-only', '--expose-gc'], { model: opts.model, warmup: opts.warmup, whole: opts.whole });
}

const mib = (b) => (b === null || b === undefined ? 'n/a' : `${(b / MIB).toFixed(0)} MiB`);
const ratio = (a, b) => (a === null ? 'n/a' : (a / b).toFixed(2));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.child) return child(opts.child);
  if (!existsSync(join(opts.model, 'model_index.json'))) {
    if (resolve(opts.model) !== LARGE) throw new Error(`${opts.model} is not a pipeline folder (no model_index.json)`);
    console.error(`bench/memory: writing the ${opts.gib} GiB stand-in to ${relative(ROOT, LARGE)} (training/make_standins.py --large-unet-gib ${opts.gib}) ...`);
    const r = spawnSync('nice', ['-n', '15', PY, join(ROOT, 'training', 'make_standins.py'), '--large-unet-gib', String(opts.gib)], { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`training/make_standins.py failed (exit ${r.status}); it needs ${PY} with numpy and onnx (or set PYTHON)`);
  }
  const files = await listFiles(opts.model);
  const modelBytes = files.reduce((s, f) => s + f.size, 0);
  console.error(`bench/memory: bundling the engine for Node ...`);
  await buildBundle();
  const runs = [];
  for (let i = 0; i < opts.runs; i++) {
    console.error(`bench/memory: run ${i + 1}/${opts.runs}: loading ${relative(ROOT, opts.model) || opts.model} (${mib(modelBytes)}) on WASM ...`);
    const r = await runChild(opts);
    const added = r.peakRss === null ? null : r.peakRss - r.before.rss;
    runs.push({
      ...r,
      addedPeak: added,
      ratioAdded: added === null ? null : added / modelBytes,
      ratioAbsolute: r.peakRss === null ? null : r.peakRss / modelBytes,
      settledAdded: r.settled.rss - r.before.rss,
    });
  }
  const result = {
    when: new Date().toISOString(),
    model: relative(ROOT, opts.model) || opts.model,
    modelBytes,
    files: files.map(({ path, size }) => ({ path, size })),
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memBytes: os.totalmem(), load: os.loadavg() },
    warmup: opts.warmup,
    sidecars: opts.whole ? 'whole' : 'on demand',
    runs,
  };
  const dir = join(ROOT, 'bench', 'results');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `memory-${result.when.replace(/[:.]/g, '-')}.json`);
  await writeFile(file, JSON.stringify(result, null, 2));
  if (opts.json) await writeFile(opts.json, JSON.stringify(result, null, 2));

  const rows = runs.map(
    (r, i) =>
      `| ${i + 1} | ${mib(modelBytes)} | ${mib(r.before.rss)} | ${mib(r.peakRss)} | ${mib(r.addedPeak)} | **${ratio(r.addedPeak, modelBytes)}** | ${ratio(r.peakRss, modelBytes)} | ${mib(r.settledAdded)} | ${mib(r.sampledPeaks.arrayBuffers)} | ${r.loadMs.toFixed(0)} | ${r.wallMs.toFixed(0)} |`,
  );
  console.log(`\nLoad memory, ${result.model} on ${runs[0].provider}, sidecars ${result.sidecars} (onnxruntime-web ${runs[0].ort}, Node ${runs[0].node}, load average ${result.machine.load.map((l) => l.toFixed(1)).join(' ')})\n`);
  console.log('| run | model bytes | RSS before | peak RSS | added peak | added / model | peak / model | settled (added) | peak arrayBuffers (sampled) | loadMs | wall ms |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const row of rows) console.log(row);
  const ok = runs.filter((r) => r.ratioAdded !== null);
  if (ok.length) console.log(`\nmedian added peak / model bytes: ${median(ok.map((r) => r.ratioAdded)).toFixed(2)} (goal <= 1.3); median load ${median(runs.map((r) => r.loadMs)).toFixed(0)} ms`);
  else console.log('\nThe peak-RSS counter could not be reset here (/proc/self/clear_refs), so no peak ratio; see the JSON for sampled peaks.');
  console.log(`written: ${relative(ROOT, file)}`);
}

main().catch((e) => {
  console.error(`bench/memory: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
