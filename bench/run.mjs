#!/usr/bin/env node
/**
 * `npm run bench`: the benchmark, measured through the real app in headless Chromium.
 *
 * 1. Builds the app (or reuses dist/ when it is newer than src/), starts `vite preview`, launches Chromium
 *    (Debian's, found by scripts/chromium.mjs; never downloaded) at low CPU priority.
 * 2. Per provider: cold start (fresh browser context, open -> first image on the canvas), responsiveness (the
 *    app's steps slider moved N times: input -> new image painted, p50/p95), then the latency table through
 *    window.__fewstepBench (src/app/bench/hook.ts -> the app's worker engine): warm-up, timed runs, median,
 *    per-stage breakdown, bare loop (only session.run) and overhead ratio, and on WebGPU the CPU loop against the
 *    GPU-resident loop with readbacks per image.
 * 3. Flat memory: N consecutive generations (mixed samplers and step counts); JS heap of the page and of the
 *    engine worker through CDP (after a forced GC) and live GPU buffers from the engine's counters.
 * Prints the tables and writes bench/results/bench-<time>.json (+ latest.json, latest.md).
 *
 * Options (defaults chosen so a run fits in 10 minutes on this 2-core CPU-only machine, where WebGPU is SwiftShader:
 * seconds per VAE run; see bench/README.md):
 *   --provider wasm|webgpu|both (both)   --runs N timed runs per row (5)   --warmup N (1)
 *   --min-time-ms N   fast rows get more timed runs (up to --max-runs, 30) until about N ms are timed (1000; 0 = off)
 *   --pipelines a,b   only these pipeline ids (fixture ids: fixture-tiny, fixture-tiny-lcm)
 *   --steps 1,2,4     only these step counts (on WebGPU the default is one row: LCM 2 steps)
 *   --ddpm / --no-ddpm   teacher DDPM-1000 row (default: on for wasm only)   --ddpm-runs N (1)
 *   --samplers all|a,b   also time these registered samplers (class names, labels or aliases) at 4 steps
 *   --memory N        WASM memory run length in generations (300; 0 = skip)   --memory-webgpu N (20)
 *   --slider N        slider moves on WASM (20)   --slider-webgpu N (4)
 *   --no-table   --rebuild   --no-build   --port P (4188)   --memory-chunk N (10)
 *   --quick           smoke settings: runs 2, no DDPM, short memory and slider runs
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM_ARGS, findChromium } from '../scripts/chromium.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT_DIR = join(ROOT, 'bench', 'results');
const T_START = Date.now();

// ---------------------------------------------------------------------------------------------------------------
// options
// ---------------------------------------------------------------------------------------------------------------
function parseArgs(argv) {
  const o = {
    provider: 'both', runs: 5, warmup: 1, pipelines: /** @type {string[]} */ ([]), steps: /** @type {number[]} */ ([]),
    ddpm: /** @type {boolean | null} */ (null), memory: 300, samplers: /** @type {'all' | string[]} */ ([]),
    slider: 20, cold: true, table: true, rebuild: false, build: true, port: 4188, memoryChunk: 10,
    memoryWebgpu: 20, sliderWebgpu: 4, ddpmRuns: 1, webgpuSteps: /** @type {number[]} */ ([]), minTimeMs: 1000, maxRuns: 30,
  };
  const list = (v) => (v ? String(v).split(',').map((s) => s.trim()).filter(Boolean) : []);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [k, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const val = () => inline ?? argv[++i];
    switch (k) {
      case '--provider': o.provider = val(); break;
      case '--runs': o.runs = Number(val()); break;
      case '--warmup': o.warmup = Number(val()); break;
      case '--pipelines': o.pipelines = list(val()); break;
      case '--samplers': { const v = val(); o.samplers = v === 'all' ? 'all' : list(v); break; }
      case '--steps': o.steps = list(val()).map(Number); break;
      case '--ddpm': o.ddpm = true; break;
      case '--no-ddpm': o.ddpm = false; break;
      case '--memory': o.memory = Number(val()); break;
      case '--slider': o.slider = Number(val()); break;
      case '--memory-chunk': o.memoryChunk = Number(val()); break;
      case '--memory-webgpu': o.memoryWebgpu = Number(val()); break;
      case '--slider-webgpu': o.sliderWebgpu = Number(val()); break;
      case '--ddpm-runs': o.ddpmRuns = Number(val()); break;
      case '--min-time-ms': o.minTimeMs = Number(val()); break;
      case '--max-runs': o.maxRuns = Number(val()); break;
      case '--no-table': o.table = false; break;
      case '--rebuild': o.rebuild = true; break;
      case '--no-build': o.build = false; break;
      case '--port': o.port = Number(val()); break;
      case '--quick': Object.assign(o, { runs: 2, minTimeMs: 0, warmup: 1, memory: 30, memoryWebgpu: 4, slider: 4, sliderWebgpu: 2, ddpm: false }); break;
      case '-h': case '--help':
        console.log(readHelp());
        process.exit(0);
        break;
      default:
        console.error(`Unknown option "${a}". Run with --help for the list.`);
        process.exit(2);
    }
  }
  if (!['wasm', 'webgpu', 'both'].includes(o.provider)) {
    console.error(`--provider must be one of: wasm, webgpu, both (got "${o.provider}")`);
    process.exit(2);
  }
  if (!(o.runs >= 1)) { console.error(`--runs must be >= 1 (got ${o.runs})`); process.exit(2); }
  return o;
}

function readHelp() {
  const src = readFileSync(fileURLToPath(import.meta.url), 'utf8');
  return (/\/\*\*\n([\s\S]*?)\n \*\//.exec(src)?.[1] ?? '').replace(/^ \* ?/gm, '');
}

const log = (...a) => console.error('[bench]', ...a);

// ---------------------------------------------------------------------------------------------------------------
// build + server + browser
// ---------------------------------------------------------------------------------------------------------------
function newestMtime(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return t;
}

function ensureBuild(opts) {
  const index = join(ROOT, 'dist', 'index.html');
  const stale = !existsSync(index) || newestMtime(join(ROOT, 'src')) > statSync(index).mtimeMs || statSync(join(ROOT, 'index.html')).mtimeMs > statSync(index).mtimeMs;
  if (!opts.build) {
    if (!existsSync(index)) throw new Error('dist/ is missing: run without --no-build');
    return 'reused (--no-build)';
  }
  if (!opts.rebuild && !stale) return 'reused (dist newer than src)';
  log('building the app (vite build) ...');
  const r = spawnSync('nice', ['-n', '10', 'npx', 'vite', 'build', '--logLevel', 'warn'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`vite build failed (exit ${r.status})`);
  return 'built';
}

async function startPreview(port) {
  const child = spawn('npx', ['vite', 'preview', '--port', String(port), '--strictPort'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const url = `http://localhost:${port}/`;
  for (let i = 0; i < 120; i++) {
    if (child.exitCode !== null) throw new Error(`vite preview exited: ${out}`);
    try {
      const r = await fetch(url);
      if (r.ok) return { child, url };
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`vite preview did not answer at ${url}: ${out}`);
}

function stopPreview(child) {
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    /* gone */
  }
}

/** A wrapper that starts Chromium at nice 15: the machine is shared with training jobs that have priority. */
function niceChromium(chromium) {
  mkdirSync(OUT_DIR, { recursive: true });
  const wrapper = join(OUT_DIR, '.chromium-nice.sh');
  writeFileSync(wrapper, `#!/bin/sh\nexec nice -n 15 ${JSON.stringify(chromium)} "$@"\n`);
  chmodSync(wrapper, 0o755);
  return wrapper;
}

// ---------------------------------------------------------------------------------------------------------------
// CDP: JS heap of the page and of the engine worker
// ---------------------------------------------------------------------------------------------------------------
async function heapProbe(browser, page) {
  const pageCdp = await page.context().newCDPSession(page);
  const bcdp = await browser.newBrowserCDPSession();
  let seq = 0;
  const pending = new Map();
  bcdp.on('Target.receivedMessageFromTarget', (e) => {
    const m = JSON.parse(e.message);
    const p = pending.get(m.id);
    if (p) {
      pending.delete(m.id);
      p(m);
    }
  });
  let worker = null;
  const findWorker = async () => {
    const { targetInfos } = await bcdp.send('Target.getTargets');
    const w = targetInfos.find((t) => t.type === 'worker' && /\/assets\/worker-[^/]*\.js/.test(t.url)) ?? targetInfos.find((t) => t.type === 'worker' && !/ort/.test(t.url));
    if (!w) return null;
    const { sessionId } = await bcdp.send('Target.attachToTarget', { targetId: w.targetId, flatten: false });
    return { sessionId, url: w.url };
  };
  const sendWorker = (method, params = {}) =>
    new Promise((res, rej) => {
      const id = ++seq;
      const timer = setTimeout(() => {
        pending.delete(id);
        rej(new Error(`CDP ${method} timed out`));
      }, 60_000);
      pending.set(id, (m) => {
        clearTimeout(timer);
        res(m.result ?? null);
      });
      bcdp.send('Target.sendMessageToTarget', { sessionId: worker.sessionId, message: JSON.stringify({ id, method, params }) }).catch(rej);
    });
  return {
    async sample() {
      await pageCdp.send('HeapProfiler.collectGarbage').catch(() => undefined);
      const pageHeap = (await pageCdp.send('Runtime.getHeapUsage')).usedSize;
      worker ??= await findWorker();
      let workerHeap = null;
      if (worker) {
        await sendWorker('HeapProfiler.collectGarbage').catch(() => undefined);
        workerHeap = (await sendWorker('Runtime.getHeapUsage').catch(() => null))?.usedSize ?? null;
      }
      return { pageHeap, workerHeap };
    },
    async close() {
      await pageCdp.detach().catch(() => undefined);
      await bcdp.detach().catch(() => undefined);
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// formatting
// ---------------------------------------------------------------------------------------------------------------
const fmt = (ms) => (ms === null || ms === undefined || !Number.isFinite(ms) ? '-' : ms >= 1000 ? ms.toFixed(0) : ms >= 100 ? ms.toFixed(1) : ms.toFixed(2));
const fx = (v, d = 2) => (v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(d));
const mb = (b) => (b === null || b === undefined ? '-' : (b / 2 ** 20).toFixed(2));
const pct = (v) => (v === null || v === undefined ? '-' : `${(v * 100).toFixed(1)}%`);

function table(header, rows) {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(w[i])).join(' | ')} |`;
  return [line(header), `|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

/** A row's sampler label: the app's sampler registry names it in the matrix (BenchConfig.samplerLabel). */
const samplerName = (config) => config.samplerLabel ?? config.scheduler;

function latencyTable(rows) {
  const header = ['pipeline', 'sampler', 'steps', 'median ms (min-max)', 'ms per step', 'speed-up vs teacher DDIM-50', 'quality score', 'bare ms', 'overhead (median; min)', 'loop', 'readbacks/img'];
  const body = rows.map((r) => {
    const l = r.loops.find((x) => x.loop === r.primary);
    const sampler = samplerName(r.config);
    if (!l) return [r.config.label, sampler, r.config.steps, `error: ${r.error ?? '?'}`, '-', '-', '-', '-', '-', '-', '-'];
    const note = r.note ? ` [${r.note}]` : '';
    return [
      r.config.label,
      sampler + (r.guidanceMode === 'cfg' ? ` cfg ${r.guidanceScale}` : ''),
      r.config.steps,
      `${fmt(l.engine.median)} (${fmt(l.engine.min)}-${fmt(l.engine.max)})${note}`,
      fmt(l.msPerStep),
      r.speedup === null ? '-' : `${r.speedup.toFixed(1)}x`,
      r.quality === null ? (r.fixture ? 'n/a (fixture)' : '-') : r.quality.toFixed(3),
      r.bare ? fmt(r.bare.median) : '-',
      `${fx(r.overhead, 3)}; ${fx(r.overheadMin, 3)}`,
      r.primary,
      l.readbacksPerImage ?? '-',
    ];
  });
  return table(header, body);
}

function loopTable(rows) {
  const header = ['pipeline', 'sampler', 'steps', 'CPU loop ms', 'GPU loop ms', 'GPU/CPU', 'readbacks CPU loop', 'readbacks GPU loop', 'image diff CPU vs GPU (mean, 0-255)', 'latents max diff', 'bare ms', 'CPU loop/bare', 'GPU loop/bare'];
  const body = rows
    .filter((r) => r.loops.length > 1)
    .map((r) => {
      const c = r.loops.find((x) => x.loop === 'cpu');
      const g = r.loops.find((x) => x.loop === 'gpu');
      return [
        r.config.label, samplerName(r.config), r.config.steps, fmt(c?.engine.median), fmt(g?.engine.median),
        fx(g && c ? g.engine.median / c.engine.median : null, 3), c?.readbacksPerImage ?? '-', g?.readbacksPerImage ?? '-', fx(r.cpuGpuImageDiff, 3), r.cpuGpuLatentMaxDiff === null ? '-' : r.cpuGpuLatentMaxDiff.toExponential(1),
        r.bare ? fmt(r.bare.median) : '-', fx(r.overheadCpuLoop, 3), fx(r.overhead, 3),
      ];
    });
  return body.length ? table(header, body) : '';
}

function stageTable(rows) {
  const header = ['pipeline', 'sampler', 'steps', 'loop', 'text enc', 'unet', 'scheduler', 'vae', 'readback', 'other', 'worker msg', 'end-to-end'];
  const body = [];
  for (const r of rows) {
    for (const l of r.loops) {
      const s = l.stages;
      body.push([r.config.label, samplerName(r.config), r.config.steps, l.loop, fmt(s.textEncoderMs), fmt(s.unetMs), fmt(s.schedulerMs), fmt(s.vaeMs), fmt(s.readbackMs), fmt(s.otherMs), fmt(s.messagingMs), fmt(l.endToEnd.median)]);
    }
  }
  return table(header, body);
}

// ---------------------------------------------------------------------------------------------------------------
// phases
// ---------------------------------------------------------------------------------------------------------------
async function openApp(context, url, query) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('crash', () => {
    errors.push('page crashed');
    log('the page crashed (renderer or GPU process died)');
  });
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(`console: ${m.text()}`);
  });
  await page.exposeFunction('__fewstepBenchProgress', (p) => {
    const el = ((Date.now() - T_START) / 1000).toFixed(0);
    process.stderr.write(`\r[bench] ${el}s ${p.done}/${p.total} ${p.label}`.padEnd(110).slice(0, 140));
  });
  await page.goto(`${url}?${query}`);
  await page.waitForFunction(() => !!window.__fewstepBench, null, { timeout: 60_000 });
  return { page, errors };
}

/**
 * One fresh browser context per provider (cold: empty HTTP cache and storage), used in order for: cold start,
 * slider responsiveness, the latency table, and the memory run. Reusing the warm page avoids paying the app's own
 * start-up (model load, shader compilation) once per phase.
 */
async function providerSession(browser, url, provider, opts) {
  // No service worker (the build's precache, src/sw.ts): its install would fetch ~77 MB while cold start is timed.
  const context = await browser.newContext({ serviceWorkers: 'block' });
  const t0 = Date.now();
  const { page, errors } = await openApp(context, url, `ep=${provider}&seed=42`);
  const out = { provider, errors };
  // 1. cold start: navigation -> first image painted (the hook stamps it with a MutationObserver + next frame).
  await page.waitForFunction(() => window.__fewstepBench.firstImageMs !== null || !!document.querySelector('[data-testid=load-error]'), null, { timeout: 900_000, polling: 100 });
  out.coldFirstImageMs = await page.evaluate(() => window.__fewstepBench.firstImageMs);
  out.coldWallMs = Date.now() - t0;
  out.app = await page.evaluate(() => window.__fewstepBench.appState());
  log(`cold start on ${provider}: first image ${fmt(out.coldFirstImageMs)} ms after navigation (${out.app.model} on ${out.app.provider})`);
  await page.waitForFunction(() => !window.__fewstepBench.appState().busy, null, { timeout: 900_000 });

  // 2. responsiveness: the app's own steps slider.
  const sliderN = provider === 'webgpu' ? opts.sliderWebgpu ?? opts.slider : opts.slider;
  if (sliderN > 0) {
    const r = await page.evaluate((n) => window.__fewstepBench.slider(n), sliderN);
    const s = [...r.samples].sort((x, y) => x - y);
    const pctl = (p) => {
      const rank = (p / 100) * (s.length - 1);
      const lo = Math.floor(rank);
      const hi = Math.ceil(rank);
      return s[lo] + (s[hi] - s[lo]) * (rank - lo);
    };
    out.slider = { ...r, p50: pctl(50), p95: pctl(95) };
    log(`slider -> image on ${provider}: p50 ${fmt(out.slider.p50)} ms, p95 ${fmt(out.slider.p95)} ms over ${s.length} moves (steps ${[...new Set(r.steps)].join('/')}, ${r.model})`);
  }

  // 3. latency table through the engine.
  if (opts.table) {
    const ddpm = opts.ddpm ?? provider === 'wasm';
    const steps = opts.steps.length ? opts.steps : provider === 'webgpu' ? opts.webgpuSteps : [];
    const { pipelines, configs } = await page.evaluate((m) => window.__fewstepBench.matrix(m), { ddpm, pipelines: opts.pipelines, steps, samplers: opts.samplers });
    let chosen = configs;
    if (provider === 'webgpu' && !opts.steps.length && !opts.pipelines.length) {
      // SwiftShader WebGPU is slow (seconds per VAE run): by default one multi-step row (LCM 2 steps: the CPU loop
      // reads back 3 times per image, the GPU loop once).
      chosen = configs.filter((c) => c.role === 'lcm' && c.steps === 2);
    }
    const normal = chosen.filter((c) => c.scheduler !== 'DDPMScheduler');
    const long = chosen.filter((c) => c.scheduler === 'DDPMScheduler');
    log(`${provider}: ${chosen.length} configurations over ${[...new Set(chosen.map((c) => c.pipelineId))].join(', ')}; ${opts.runs} timed runs after ${opts.warmup} warm-up`);
    const rows = await page.evaluate(([p, c, o]) => window.__fewstepBench.run(p, c, o), [pipelines, normal, { provider, runs: opts.runs, warmup: opts.warmup, bare: true, minTimedMs: opts.minTimeMs, maxRuns: opts.maxRuns }]);
    if (long.length) {
      process.stderr.write('\n');
      log(`${provider}: DDPM 1000-step row: ${opts.ddpmRuns} timed run(s), no warm-up (sessions are warm), no bare loop`);
      const more = await page.evaluate(([p, c, o]) => window.__fewstepBench.run(p, c, o), [pipelines, long, { provider, runs: opts.ddpmRuns, warmup: 0, bare: false }]);
      for (const r of more) r.note = `${opts.ddpmRuns} timed run(s)`;
      rows.push(...more);
    }
    // Speed-up against the teacher's DDIM-50 row (primary loop, same provider), across both calls.
    const ref = rows.find((r) => r.config.reference && r.loops.length);
    const refMs = ref?.loops.find((l) => l.loop === ref.primary)?.engine.median ?? null;
    for (const r of rows) {
      const ms = r.loops.find((l) => l.loop === r.primary)?.engine.median;
      r.speedup = refMs && ms ? refMs / ms : null;
    }
    process.stderr.write('\n');
    out.latency = { pipelines, rows, reference: ref ? ref.config.key : null };
  }

  // 4. memory run.
  const memN = provider === 'webgpu' ? opts.memoryWebgpu : opts.memory;
  if (memN > 0) out.memory = await memoryRun(browser, page, provider, { ...opts, memory: memN });
  await context.close();
  return out;
}

async function memoryRun(browser, page, provider, opts) {
  const pipelines = await page.evaluate(() => window.__fewstepBench.pipelines());
  const pick =
    pipelines.find((p) => p.id === 'fewstep-turbo') ?? pipelines.find((p) => p.id === 'fewstep-lcm') ?? pipelines.find((p) => !p.fixture) ?? pipelines.find((p) => p.id === 'fixture-tiny') ?? pipelines[0];
  const probe = await heapProbe(browser, page);
  const maxSteps = provider === 'webgpu' ? 2 : 8;
  const start = await page.evaluate(([p, pr, m]) => window.__fewstepBench.memoryStart(p, pr, m), [pick, provider, maxSteps]);
  const samples = [];
  samples.push({ ...start.baseline, ...(await probe.sample()) });
  const chunk = Math.max(1, Math.min(opts.memoryChunk, Math.ceil(opts.memory / 10)));
  log(`memory run: ${opts.memory} generations of ${pick.id} on ${start.provider} (${start.schedulerClass} config, mixed samplers, 1-${maxSteps} steps), sampled every ${chunk}`);
  for (let done = 0; done < opts.memory; ) {
    const k = Math.min(chunk, opts.memory - done);
    const s = await page.evaluate((n) => window.__fewstepBench.memoryChunk(n), k);
    done += k;
    const h = await probe.sample();
    samples.push({ ...s, ...h });
    process.stderr.write(`\r[bench] memory ${done}/${opts.memory}: worker heap ${mb(h.workerHeap)} MiB, page heap ${mb(h.pageHeap)} MiB, live GPU buffers ${s.liveGpuBuffers}`.padEnd(110));
  }
  process.stderr.write('\n');
  await page.evaluate(() => window.__fewstepBench.memoryStop());
  await probe.close();
  // Growth after warm-up: the first 10% of the samples (at least one) are warm-up.
  const warm = Math.max(1, Math.round(samples.length * 0.1));
  const growth = (key) => {
    const xs = samples.map((x) => x[key]).filter((v) => typeof v === 'number');
    if (xs.length < warm + 2) return null;
    const after = xs.slice(warm);
    const k = Math.max(1, Math.min(3, Math.floor(after.length / 2)));
    const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
    const a = med(after.slice(0, k));
    const b = med(after.slice(-k));
    return a > 0 ? b / a - 1 : b === 0 ? 0 : null;
  };
  return {
    provider: start.provider,
    pipeline: pick.id,
    fixture: pick.fixture,
    generations: opts.memory,
    maxSteps,
    samples,
    warmupSamples: warm,
    growth: { workerHeap: growth('workerHeap'), pageHeap: growth('pageHeap'), liveGpuBuffers: growth('liveGpuBuffers'), liveGpuBytes: growth('liveGpuBytes') },
  };
}

function sparkline(xs) {
  const v = xs.filter((x) => typeof x === 'number');
  if (!v.length) return '-';
  const lo = Math.min(...v);
  const hi = Math.max(...v);
  const bars = '▁▂▃▄▅▆▇█';
  return v.map((x) => bars[hi === lo ? 0 : Math.round(((x - lo) / (hi - lo)) * 7)]).join('');
}

// ---------------------------------------------------------------------------------------------------------------
// main
// ---------------------------------------------------------------------------------------------------------------
async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const build = ensureBuild(opts);
  const { chromium } = await import('playwright-core');
  const exe = findChromium({ install: false });
  const { child, url } = await startPreview(opts.port);
  const args = [...CHROMIUM_ARGS, '--enable-precise-memory-info', '--js-flags=--expose-gc'];
  const browser = await chromium.launch({ executablePath: niceChromium(exe), args, headless: true });
  const result = {
    startedAt: new Date(T_START).toISOString(),
    options: opts,
    build,
    machine: {
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cores: os.cpus().length,
      memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
      platform: `${os.type()} ${os.release()}`,
      loadAverage: os.loadavg(),
      browser: `Chromium ${browser.version()}`,
      node: process.version,
    },
    providers: /** @type {Awaited<ReturnType<typeof providerSession>>[]} */ ([]),
  };
  const providers = opts.provider === 'both' ? ['wasm', 'webgpu'] : [opts.provider];
  try {
    for (const provider of providers) {
      const ses = await providerSession(browser, url, provider, opts);
      result.providers.push(ses);
      // Partial results survive an interrupted run.
      mkdirSync(OUT_DIR, { recursive: true });
      writeFileSync(join(OUT_DIR, 'partial.json'), JSON.stringify(result, null, 1));
      if (ses.latency) {
        const rows = ses.latency.rows;
        const actual = rows[0]?.provider ?? provider;
        console.log(`\n## Latency: ${provider === actual ? provider : `${provider} requested, ran on ${actual}`} (${rows[0]?.providerReason ?? ''})\n`);
        console.log(latencyTable(rows));
        const lt = loopTable(rows);
        if (lt) console.log(`\nCPU loop vs GPU-resident loop (${actual}):\n\n${lt}`);
        console.log(`\nPer-stage medians, ms (${actual}):\n\n${stageTable(rows)}`);
      }
    }
  } finally {
    await browser.close().catch(() => undefined);
    stopPreview(child);
  }
  result.finishedAt = new Date().toISOString();
  result.durationS = (Date.now() - T_START) / 1000;

  // Summary
  const lines = [];
  lines.push(`\n## Summary (${result.machine.cpu}, ${result.machine.cores} cores, ${result.machine.memoryGiB} GiB, ${result.machine.browser}; load average at start ${result.machine.loadAverage.map((x) => x.toFixed(2)).join(' ')})`);
  const med = (a) => (a.length ? [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] : null);
  for (const p of result.providers) {
    const adapter = p.latency?.rows[0]?.providerReason ?? p.provider;
    lines.push(`- ${p.provider} [${adapter}]: cold start (open -> first image, fresh context) ${fmt(p.coldFirstImageMs)} ms [${p.app?.model} on ${p.app?.provider}]`);
    if (p.slider) lines.push(`  slider -> image on screen: p50 ${fmt(p.slider.p50)} ms, p95 ${fmt(p.slider.p95)} ms (${p.slider.samples.length} moves, steps ${[...new Set(p.slider.steps)].join('/')}, ${p.slider.model})`);
    if (p.latency) {
      const rows = p.latency.rows.filter((r) => r.overhead !== null);
      const ov = rows.map((r) => r.overhead);
      const ovc = rows.map((r) => r.overheadCpuLoop).filter((x) => x !== null);
      const rbs = p.latency.rows.flatMap((r) => r.loops.map((x) => `${x.loop} loop ${x.readbacksPerImage ?? '-'} (${r.config.steps} steps)`));
      const ovm = rows.map((r) => r.overheadMin).filter((x) => x !== null);
      lines.push(`  overhead (pipeline / bare, medians): median over rows ${fx(med(ov), 3)}, max ${fx(ov.length ? Math.max(...ov) : null, 3)}; CPU loop median ${fx(med(ovc), 3)}; fastest-run ratio, median over rows ${fx(med(ovm), 3)}`);
      lines.push(`  readbacks per image: ${[...new Set(rbs)].join(', ')}`);
      const diffs = p.latency.rows.map((r) => r.cpuGpuImageDiff).filter((x) => x !== null);
      if (diffs.length) lines.push(`  CPU loop vs GPU loop image, mean |diff| (0-255): max ${fx(Math.max(...diffs), 4)}`);
    }
    if (p.memory) {
      const m = p.memory;
      lines.push(
        `  memory (${m.generations} generations, ${m.pipeline}${m.fixture ? ' [fixture]' : ''} on ${m.provider}): growth after warm-up: worker heap ${pct(m.growth.workerHeap)}, page heap ${pct(m.growth.pageHeap)}, live GPU buffers ${pct(m.growth.liveGpuBuffers)} (bytes ${pct(m.growth.liveGpuBytes)})`,
      );
      lines.push(`    worker heap MiB  ${sparkline(m.samples.map((x) => x.workerHeap))}  ${mb(m.samples[0].workerHeap)} -> ${mb(m.samples.at(-1).workerHeap)}`);
      lines.push(`    page heap MiB    ${sparkline(m.samples.map((x) => x.pageHeap))}  ${mb(m.samples[0].pageHeap)} -> ${mb(m.samples.at(-1).pageHeap)}`);
      lines.push(`    live GPU buffers ${sparkline(m.samples.map((x) => x.liveGpuBuffers))}  ${m.samples[0].liveGpuBuffers} -> ${m.samples.at(-1).liveGpuBuffers}`);
    }
  }
  lines.push(`- total ${result.durationS.toFixed(0)} s`);
  console.log(lines.join('\n'));

  mkdirSync(OUT_DIR, { recursive: true });
  const stamp = result.startedAt.replace(/[:.]/g, '-');
  const json = JSON.stringify(result, null, 1);
  writeFileSync(join(OUT_DIR, `bench-${stamp}.json`), json);
  writeFileSync(join(OUT_DIR, 'latest.json'), json);
  const md = [
    `# Fewstep benchmark ${result.startedAt}`,
    '',
    ...result.providers
      .filter((p) => p.latency)
      .flatMap((p) => [`## ${p.latency.rows[0]?.provider ?? p.provider}: ${p.latency.rows[0]?.providerReason ?? ''}`, '', latencyTable(p.latency.rows), '', loopTable(p.latency.rows), '', stageTable(p.latency.rows), '']),
    lines.join('\n'),
  ].join('\n');
  writeFileSync(join(OUT_DIR, 'latest.md'), md);
  log(`wrote bench/results/bench-${stamp}.json, latest.json, latest.md`);
  const errs = result.providers.flatMap((x) => x.errors ?? []);
  if (errs.length) log(`page errors: ${errs.join(' | ')}`);
}

main().catch((e) => {
  console.error(`\n[bench] failed: ${e.stack ?? e}`);
  process.exit(1);
});
