#!/usr/bin/env node
/**
 * UX timings of the app (issue 15), measured like bench/run.mjs: production build, `vite preview`, headless
 * Chromium, the app's own UI. Reports p50/p95 of
 *   - slider-to-screen: the steps slider moved between its two lowest positions (window.__fewstepBench.slider);
 *   - typing-to-screen: a prompt typed one character at a time (native input events every --interval ms); each
 *     keystroke's sample is the time until an image for that text (or a longer prefix of it) is painted;
 *   - cold open: navigation -> first generated image painted, each in a fresh browser context (empty cache);
 * and where the slider's time goes (window.__fewstepUx: input -> request -> result -> drawn -> painted).
 *
 *   node bench/ux.mjs [--provider wasm|auto] [--cold 5] [--slider 20] [--interval 80] [--no-build] [--port 4318]
 *
 * Writes bench/results/ux-<timestamp>.json. Numbers are reported, never asserted.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM_ARGS, findChromium } from '../scripts/chromium.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TEXT = 'a large yellow circle in the center on a navy background';

function parseArgs(argv) {
  const o = { provider: 'wasm', cold: 5, slider: 20, interval: 80, build: true, port: 4318, model: 'fewstep-turbo', steps: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i];
    if (a === '--provider') o.provider = next();
    else if (a === '--cold') o.cold = Number(next());
    else if (a === '--slider') o.slider = Number(next());
    else if (a === '--interval') o.interval = Number(next());
    else if (a === '--port') o.port = Number(next());
    else if (a === '--model') o.model = next();
    else if (a === '--no-build') o.build = false;
    else if (a === '--help') {
      console.log('node bench/ux.mjs [--provider wasm|auto] [--cold 5] [--slider 20] [--interval 80] [--model fewstep-turbo] [--no-build] [--port 4318]');
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
async function openApp(browser, url, query) {
  const context = await browser.newContext({ serviceWorkers: 'block', viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`[page] ${e.message}`));
  await page.goto(`${url}?${query}`);
  await page.waitForFunction(() => window.__fewstepBench?.firstImageMs != null, null, { timeout: 300_000, polling: 50 });
  const cold = await page.evaluate(() => {
    const marks = Object.fromEntries(performance.getEntriesByType('mark').filter((m) => m.name.startsWith('fewstep:') && !m.name.includes(':input')).map((m) => [m.name.replace('fewstep:', ''), +m.startTime.toFixed(1)]));
    const nav = /** @type {PerformanceNavigationTiming | undefined} */ (performance.getEntriesByType('navigation')[0]);
    return { firstImageMs: window.__fewstepBench.firstImageMs, domContentLoaded: nav ? +nav.domContentLoadedEventEnd.toFixed(1) : null, marks };
  });
  return { context, page, cold };
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
  return {
    n: done.length,
    inputToRequest: part((s) => s.request - s.input),
    engine: part((s) => s.engineMs),
    messaging: part((s) => s.result - s.request - s.engineMs),
    resultToDrawn: part((s) => s.drawn - s.result),
    drawnToPainted: part((s) => s.painted - s.drawn),
    total: part((s) => s.painted - s.input),
  };
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
      console.log(`cold open ${i + 1}/${o.cold}: ${cold.firstImageMs.toFixed(0)} ms  ${JSON.stringify(cold.marks)}`);
      await context.close();
    }
    result.cold = { ...stats(colds.map((c) => c.firstImageMs)), runs: colds };
    const { context, page } = await openApp(browser, url, query);
    const provider = await page.getByTestId('ep-badge').getAttribute('data-provider');
    result.provider = provider;
    await page.evaluate(() => window.__fewstepUx.clear());
    const slider = await page.evaluate((n) => window.__fewstepBench.slider(n), o.slider);
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
  const fmt = (s) => `p50 ${s.p50} ms, p95 ${s.p95} ms (n=${s.n}, min ${s.min}, max ${s.max})`;
  console.log(`\nprovider: ${result.provider}, model ${o.model}, load average at start ${result.machine.loadAverage.map((x) => x.toFixed(1)).join(' ')}`);
  console.log(`cold open -> first image: ${fmt(result.cold)}`);
  console.log(`slider -> screen:         ${fmt(result.slider)}`);
  console.log(`typing -> screen:         ${fmt(result.typing)} (a key every ${o.interval} ms; ${result.typing.requests} requests for ${result.typing.keystrokes} keys)`);
  const b = result.slider.breakdown;
  console.log(`slider breakdown (p50 / p95 ms): input->request ${b.inputToRequest.p50}/${b.inputToRequest.p95}, engine ${b.engine.p50}/${b.engine.p95}, worker messaging+queue ${b.messaging.p50}/${b.messaging.p95}, result->drawn ${b.resultToDrawn.p50}/${b.resultToDrawn.p95}, drawn->painted ${b.drawnToPainted.p50}/${b.drawnToPainted.p95}`);
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
