#!/usr/bin/env node
/**
 * UX timings of the app (issue 15), measured like bench/run.mjs: production build, `vite preview`, headless
 * Chromium, the app's own UI. Reports p50/p95 of
 *   - slider-to-screen: the steps slider moved between its two lowest positions (window.__fewstepBench.slider);
 *   - typing-to-screen: a prompt typed one character at a time (native input events every --interval ms); each
 *     keystroke's sample is the time until an image for that text (or a longer prefix of it) is painted;
 *   - cold open: navigation -> first generated image painted, each in a fresh browser context (empty cache), with
 *     the onnxruntime WebAssembly file the engine fetched (`ortWasm`: which build src/engine/ort.ts chose);
 * and where the slider's time goes (window.__fewstepUx: input -> request -> result -> drawn -> painted).
 *
 *   - return visit: the same, in a new page of a context that has opened the app once (HTTP cache and V8's
 *     WebAssembly code cache warm), as a returning visitor without the service worker;
 * The cold open's phases come from the app's start-up marks (fewstep:models-discovered, fewstep:load:*,
 * fewstep:model-loaded); each interaction's engine time is split into the engine's own stages (text encoder, U-Net,
 * VAE, the rest).
 *
 * --trace records a Chromium trace of the slider moves (bench/results/ux-trace-<time>.json, open it in
 * chrome://tracing or Perfetto) and prints the CPU time per move of each thread that worked (main thread, engine
 * worker, V8's background compilers, compositor, GPU process) and the main thread's biggest event kinds.
 *
 *   node bench/ux.mjs [--provider wasm|auto] [--cold 5] [--reopen 3] [--slider 20] [--interval 80] [--no-build] [--port 4318] [--trace]
 *
 * Writes bench/results/ux-<timestamp>.json. Numbers are reported, never asserted.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM_ARGS, findChromium } from '../scripts/chromium.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TEXT = 'a large yellow circle in the center on a navy background';

function parseArgs(argv) {
  const o = { provider: 'wasm', cold: 5, reopen: 3, slider: 20, interval: 80, build: true, port: 4318, model: 'fewstep-turbo', steps: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i];
    if (a === '--provider') o.provider = next();
    else if (a === '--cold') o.cold = Number(next());
    else if (a === '--reopen') o.reopen = Number(next());
    else if (a === '--slider') o.slider = Number(next());
    else if (a === '--interval') o.interval = Number(next());
    else if (a === '--port') o.port = Number(next());
    else if (a === '--model') o.model = next();
    else if (a === '--no-build') o.build = false;
    else if (a === '--trace') o.trace = true;
    else if (a === '--help') {
      console.log('node bench/ux.mjs [--provider wasm|auto] [--cold 5] [--reopen 3] [--slider 20] [--interval 80] [--model fewstep-turbo] [--no-build] [--port 4318] [--trace]');
      process.exit(0);
    } else throw new Error(`Unknown option ${a}`);
  }
  return o;
}

const pct = (xs, p) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return +s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))].toFixed(1);
};
const stats = (xs) => ({ n: xs.length, p50: pct(xs, 50), p95: pct(xs, 95), min: xs.length ? +Math.min(...xs).toFixed(1) : null, max: xs.length ? +Math.max(...xs).toFixed(1) : null });

async function startPreview(port) {
  const child = spawn('npx', ['vite', 'preview', '--port', String(port), '--strictPort'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const url = `http://localhost:${port}/`;
  for (let i = 0; i < 240; i++) {
    if (child.exitCode !== null) throw new Error(`vite preview exited: ${out}`);
    try {
      if ((await fetch(url)).ok) return { child, url };
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`vite preview did not answer at ${url}: ${out}`);
}

/** Open the app and wait for its first image; returns the cold-open time and the start-up marks. */
async function openApp(browser, url, query, reuse = null) {
  const context = reuse ?? (await browser.newContext({ serviceWorkers: 'block', viewport: { width: 1280, height: 900 } }));
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`[page] ${e.message}`));
  // Which onnxruntime WebAssembly runtime the engine worker fetched (src/engine/ort.ts picks the build).
  const ortWasm = [];
  page.on('request', (r) => {
    const m = /\/(ort-wasm-[\w.-]+\.wasm)$/.exec(new URL(r.url()).pathname);
    if (m) ortWasm.push(m[1]);
  });
  await page.goto(`${url}?${query}`);
  await page.waitForFunction(() => window.__fewstepBench?.firstImageMs != null, null, { timeout: 300_000, polling: 50 });
  const cold = await page.evaluate(() => {
    const marks = Object.fromEntries(performance.getEntriesByType('mark').filter((m) => m.name.startsWith('fewstep:') && !m.name.includes(':input')).map((m) => [m.name.replace('fewstep:', ''), +m.startTime.toFixed(1)]));
    const nav = /** @type {PerformanceNavigationTiming | undefined} */ (performance.getEntriesByType('navigation')[0]);
    return { firstImageMs: window.__fewstepBench.firstImageMs, domContentLoaded: nav ? +nav.domContentLoadedEventEnd.toFixed(1) : null, marks };
  });
  cold.ortWasm = ortWasm;
  return { context, page, cold };
}

/** Phases of a cold open from its start-up marks (ms after navigation), null where a mark is missing. */
function coldPhases(c) {
  const m = c.marks;
  const first = (prefix) => {
    const ks = Object.keys(m).filter((k) => k.startsWith(prefix));
    return ks.length ? Math.min(...ks.map((k) => m[k])) : null;
  };
  const textEncoderDone = first('load:session-done:text_encoder');
  const firstSession = first('load:session-initiate:');
  return {
    modelsDiscovered: m['models-discovered'] ?? null,
    loadRequested: first('load-requested'),
    firstSessionStarted: firstSession,
    // The first session waits for onnxruntime's start-up (warm-up in the worker) and makes the text encoder's.
    firstSessionDone: textEncoderDone,
    modelLoaded: m['model-loaded'] ?? null,
    firstImage: c.firstImageMs,
  };
}

async function measureTyping(page, text, intervalMs) {
  return page.evaluate(
    async ([text, intervalMs]) => {
      const ta = /** @type {HTMLTextAreaElement} */ (document.querySelector('textarea[data-testid="prompt"]'));
      const setValue = /** @type {(this: HTMLTextAreaElement, v: string) => void} */ (
        /** @type {PropertyDescriptor} */ (Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, 'value')).set
      );
      const type = (v) => {
        setValue.call(ta, v);
        ta.dispatchEvent(new Event('input', { bubbles: true }));
      };
      const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
      const waitPainted = (prompt) =>
        /** @type {Promise<void>} */ (new Promise((res) => {
          const off = window.__fewstepUx.onPaint((s) => {
            if (s.prompt === prompt) {
              off();
              res();
            }
          });
        }));
      // Start from a one-word prompt whose image is on screen.
      let ready = waitPainted(text[0]);
      type(text[0]);
      await ready;
      await sleep(200);
      const pending = [];
      const samples = [];
      const off = window.__fewstepUx.onPaint((s) => {
        for (let i = pending.length - 1; i >= 0; i--) {
          const p = pending[i];
          const painted = /** @type {number} */ (s.painted); // onPaint reports painted samples only
          if (s.prompt.length >= p.len && text.startsWith(s.prompt) && painted >= p.t0) {
            samples.push(painted - p.t0);
            pending.splice(i, 1);
          }
        }
      });
      for (let i = 2; i <= text.length; i++) {
        const t0 = performance.now();
        pending.push({ len: i, t0 });
        type(text.slice(0, i));
        await sleep(intervalMs);
      }
      const deadline = performance.now() + 20_000;
      while (pending.length && performance.now() < deadline) await sleep(20);
      off();
      const requests = window.__fewstepUx.samples().filter((s) => s.kind === 'typing').length;
      return { samples, keystrokes: text.length - 1, unanswered: pending.length, requests };
    },
    [text, intervalMs],
  );
}

function breakdown(samples) {
  const done = samples.filter((s) => s.painted !== null && s.result !== null && s.drawn !== null);
  const part = (f) => stats(done.map(f));
  const staged = done.filter((s) => s.stages);
  const stage = (f) => stats(staged.map(f));
  return {
    n: done.length,
    inputToRequest: part((s) => s.request - s.input),
    engine: part((s) => s.engineMs),
    engineTextEncoder: stage((s) => s.stages.textEncoderMs + s.stages.tokenizeMs),
    engineUnet: stage((s) => s.stages.unetMs),
    engineVae: stage((s) => s.stages.vaeMs),
    engineOther: stage((s) => s.stages.otherMs),
    unetCalls: stage((s) => s.stages.unetCalls),
    textEncoderRuns: staged.filter((s) => !s.stages.embeddingCached).length,
    messaging: part((s) => s.result - s.request - s.engineMs),
    resultToDrawn: part((s) => s.drawn - s.result),
    drawnToPainted: part((s) => s.painted - s.drawn),
    total: part((s) => s.painted - s.input),
  };
}

/**
 * CPU per slider move from a Chromium trace: per thread, the thread CPU time (tdur) of its top-level tasks; for the
 * renderer's main thread and the engine worker, the event kinds with the most CPU (nested events overlap, so those
 * rows add up to more than the thread's total).
 */
function summariseTrace(file, moves) {
  const t = JSON.parse(readFileSync(file, 'utf8'));
  const events = t.traceEvents ?? t;
  const threads = new Map();
  const processes = new Map();
  for (const e of events) {
    if (e.ph === 'M' && e.name === 'thread_name') threads.set(`${e.pid}:${e.tid}`, e.args.name);
    if (e.ph === 'M' && e.name === 'process_name') processes.set(e.pid, e.args.name);
  }
  const TOP = new Set(['ThreadControllerImpl::RunTask', 'ThreadPool_RunTask', 'SingleThreadTaskGraphRunner::RunTaskWithLockAcquired']);
  const perThread = new Map();
  const kinds = new Map();
  for (const e of events) {
    if (e.ph !== 'X' || !e.dur) continue;
    const thread = threads.get(`${e.pid}:${e.tid}`) ?? String(e.tid);
    const where = `${processes.get(e.pid) ?? e.pid} / ${thread}`;
    const cpu = (e.tdur ?? 0) / 1000;
    if (TOP.has(e.name)) perThread.set(where, (perThread.get(where) ?? 0) + cpu);
    if (processes.get(e.pid) === 'Renderer' && (thread === 'CrRendererMain' || thread === 'DedicatedWorker thread' || thread === 'ThreadPoolForegroundWorker')) {
      const k = `${thread}: ${e.name}`;
      kinds.set(k, (kinds.get(k) ?? 0) + cpu);
    }
  }
  const perMove = (m) => Object.fromEntries([...m].sort((a, b) => b[1] - a[1]).slice(0, 16).map(([k, v]) => [k, +(v / moves).toFixed(2)]));
  return { cpuPerMoveByThread: perMove(perThread), cpuPerMoveByEvent: perMove(kinds) };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.build) {
    const r = spawnSync('npx', ['vite', 'build', '--logLevel', 'warn'], { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('vite build failed');
  }
  const { chromium } = await import('playwright-core');
  const { child, url } = await startPreview(o.port);
  const browser = await chromium.launch({ executablePath: findChromium({ install: false }), args: CHROMIUM_ARGS, headless: true });
  const query = `model=${encodeURIComponent(o.model)}&steps=${o.steps}&seed=42${o.provider === 'auto' ? '' : `&ep=${o.provider}`}`;
  const result = { startedAt: new Date().toISOString(), options: o, machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, loadAverage: os.loadavg(), browser: `Chromium ${browser.version()}` } };
  try {
    const colds = [];
    for (let i = 0; i < o.cold; i++) {
      const { context, cold } = await openApp(browser, url, query);
      colds.push(cold);
      console.log(`cold open ${i + 1}/${o.cold}: ${cold.firstImageMs.toFixed(0)} ms  ${JSON.stringify(coldPhases(cold))} ${cold.ortWasm.join(' ') || '(no onnxruntime wasm fetched)'}`);
      await context.close();
    }
    const phases = colds.map(coldPhases);
    const phaseStats = (list) => Object.fromEntries(Object.keys(list[0] ?? {}).map((k) => [k, stats(list.map((p) => p[k]).filter((x) => x !== null))]));
    result.cold = { ...stats(colds.map((c) => c.firstImageMs)), phases: phaseStats(phases), runs: colds };
    const { context, page } = await openApp(browser, url, query);
    // Return visits: new pages in this context, which has opened the app once (HTTP cache, wasm code cache).
    const reopens = [];
    for (let i = 0; i < o.reopen; i++) {
      await page.waitForTimeout(1000);
      const again = await openApp(browser, url, query, context);
      reopens.push(again.cold);
      console.log(`return visit ${i + 1}/${o.reopen}: ${again.cold.firstImageMs.toFixed(0)} ms  ${JSON.stringify(coldPhases(again.cold))}`);
      await again.page.close();
    }
    result.returnVisit = { ...stats(reopens.map((c) => c.firstImageMs)), phases: phaseStats(reopens.map(coldPhases)), runs: reopens };
    const provider = await page.getByTestId('ep-badge').getAttribute('data-provider');
    result.provider = provider;
    await page.evaluate(() => window.__fewstepUx.clear());
    const traceFile = join(ROOT, 'bench', 'results', `ux-trace-${result.startedAt.replace(/[:.]/g, '-')}.json`);
    if (o.trace) {
      mkdirSync(dirname(traceFile), { recursive: true });
      await browser.startTracing(page, { path: traceFile, categories: ['devtools.timeline', 'v8', 'v8.wasm', 'blink', 'toplevel', 'disabled-by-default-devtools.timeline'] });
    }
    const slider = await page.evaluate((n) => window.__fewstepBench.slider(n), o.slider);
    if (o.trace) {
      await browser.stopTracing();
      result.sliderTrace = { file: traceFile, ...summariseTrace(traceFile, o.slider) };
    }
    const uxSlider = (await page.evaluate(() => window.__fewstepUx.samples())).filter((s) => s.kind === 'slider');
    result.slider = { ...stats(slider.samples), samples: slider.samples.map((x) => +x.toFixed(1)), steps: slider.steps, breakdown: breakdown(uxSlider) };
    // Back to the model's 1-step position before typing.
    await page.evaluate(() => window.__fewstepBench.slider(0));
    await page.evaluate(() => window.__fewstepUx.clear());
    const typing = await measureTyping(page, TEXT, o.interval);
    const uxTyping = (await page.evaluate(() => window.__fewstepUx.samples())).filter((s) => s.kind === 'typing');
    result.typing = { ...stats(typing.samples), intervalMs: o.interval, keystrokes: typing.keystrokes, unanswered: typing.unanswered, requests: typing.requests, breakdown: breakdown(uxTyping) };
    await context.close();
  } finally {
    await browser.close();
    try {
      process.kill(-/** @type {number} */ (child.pid), 'SIGTERM');
    } catch {
      /* gone */
    }
  }
  result.machine.loadAverageAtEnd = os.loadavg();
  const fmt = (s) => `p50 ${s.p50} ms, p95 ${s.p95} ms (n=${s.n}, min ${s.min}, max ${s.max})`;
  const la = (xs) => xs.map((x) => x.toFixed(1)).join(' ');
  console.log(`\nprovider: ${result.provider}, model ${o.model}, load average at start ${la(result.machine.loadAverage)}, at end ${la(result.machine.loadAverageAtEnd)}`);
  console.log(`cold open -> first image: ${fmt(result.cold)}`);
  const ph = result.cold.phases;
  if (ph.firstImage) console.log(`  cold phases (p50 ms after navigation): models discovered ${ph.modelsDiscovered.p50}, first session started ${ph.firstSessionStarted.p50}, text encoder session (after ORT start-up) ${ph.firstSessionDone.p50}, model loaded ${ph.modelLoaded.p50}, first image ${ph.firstImage.p50}`);
  if (result.returnVisit.n) console.log(`return visit -> image:    ${fmt(result.returnVisit)}`);
  console.log(`slider -> screen:         ${fmt(result.slider)}`);
  console.log(`typing -> screen:         ${fmt(result.typing)} (a key every ${o.interval} ms; ${result.typing.requests} requests for ${result.typing.keystrokes} keys)`);
  for (const [name, b] of [['slider', result.slider.breakdown], ['typing', result.typing.breakdown]]) {
    const pp = (x) => `${x.p50}/${x.p95}`;
    console.log(
      `${name} breakdown (p50/p95 ms, n=${b.n}): input->request ${pp(b.inputToRequest)}, engine ${pp(b.engine)} [text encoder ${pp(b.engineTextEncoder)} (${b.textEncoderRuns} runs), U-Net ${pp(b.engineUnet)} (${b.unetCalls.p50}-${b.unetCalls.max} calls), VAE ${pp(b.engineVae)}, other ${pp(b.engineOther)}], ` +
        `worker messaging+queue ${pp(b.messaging)}, result->drawn ${pp(b.resultToDrawn)}, drawn->painted ${pp(b.drawnToPainted)}, total ${pp(b.total)}`,
    );
  }
  if (result.sliderTrace) {
    console.log(`slider trace (${result.sliderTrace.file}), CPU ms per move by thread: ${JSON.stringify(result.sliderTrace.cpuPerMoveByThread)}`);
    console.log(`  by event: ${JSON.stringify(result.sliderTrace.cpuPerMoveByEvent)}`);
  }
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `ux-${result.startedAt.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2));
  console.log(`wrote ${file}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
