#!/usr/bin/env node
/**
 * `npm test`: every test the project has, in order, failing fast.
 *   1. typecheck (tsc, strict: src, tests, e2e; then bench/*.mjs through checkJs, bench/tsconfig.json)
 *      and lint (ESLint: layer rules + recommended sets, eslint.config.js)
 *   2. unit + Node integration tests (vitest): schedulers, engine, export, download, full pipelines through
 *      onnxruntime-web (wasm), and the Python/TS parity fixtures
 *   3. training smoke test (make -C training smoke: every stage for a few steps, export, ONNX check)
 *   4. browser tests (Playwright in headless Chromium: WebGPU and WASM)
 * Flags: --skip-e2e, --skip-training, --only=<unit|training|e2e>.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

const args = new Set(process.argv.slice(2));
const only = [...args].find((a) => a.startsWith('--only='))?.slice(7);
const want = (name) => (only ? only === name : !args.has(`--skip-${name}`));
const PY = process.env.PYTHON || '/usr/bin/python3';

function step(title, cmd, cmdArgs, opts = {}) {
  const t0 = Date.now();
  console.log(`\n=== ${title}: ${cmd} ${cmdArgs.join(' ')}`);
  const r = spawnSync(cmd, cmdArgs, { stdio: 'inherit', ...opts });
  const secs = ((Date.now() - t0) / 1000).toFixed(0);
  if (r.status !== 0) {
    console.error(`\n✗ ${title} failed (exit ${r.status ?? r.signal}) after ${secs}s`);
    process.exit(r.status || 1);
  }
  console.log(`✓ ${title} (${secs}s)`);
}

function hasTorch() {
  return spawnSync(PY, ['-c', 'import torch, onnx, numpy, PIL'], { stdio: 'ignore' }).status === 0;
}

/** PyTorch comes from Debian (no PyPI here): install it when we are root with apt-get, else say how. */
function ensureTorch() {
  if (hasTorch()) return true;
  const isRoot = process.getuid?.() === 0;
  const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
  if (isRoot && hasApt) {
    step('install PyTorch (Debian)', 'sh', ['-c', 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-torch python3-onnx python3-numpy python3-pil libopenblas0-pthread make']);
    return hasTorch();
  }
  console.error('PyTorch is missing: sudo apt-get install python3-torch python3-onnx python3-numpy python3-pil libopenblas0-pthread');
  process.exit(2);
}

if (want('unit')) {
  step('typecheck', 'npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']);
  step('typecheck bench (checkJs)', 'npx', ['tsc', '-p', 'bench/tsconfig.json', '--noEmit']);
  step('lint', 'npx', ['eslint', '.']);
  // Random-weight fixture pipelines (git-ignored) exercise plumbing beside the shipped models.
  if (!existsSync('fixtures/generated/tiny/model_index.json') && ensureTorch()) {
    step('fixtures', 'make', ['-s', '-C', 'training', 'fixtures']);
  }
  // Stand-ins of the real exports (training/make_standins.py: numpy + onnx + torch, ~8.5 MB, under a minute); the
  // tests that load them (tests/sdxlTurbo.int.test.ts, tests/sd15Lora.int.test.ts, ...) skip with a message when
  // they are missing. Rebuilt when the generator is newer than them (new stand-ins, changed graphs).
  const standinsIndex = 'fixtures/generated/standins/index.json';
  const standinsStale = !existsSync(standinsIndex) || statSync(standinsIndex).mtimeMs < statSync('training/make_standins.py').mtimeMs;
  if (standinsStale && hasTorch()) {
    step('stand-ins', 'make', ['-s', '-C', 'training', 'standins']);
  }
  step('unit + integration tests', 'npx', ['vitest', 'run']);
}
if (want('training')) {
  ensureTorch();
  step('training smoke test', 'make', ['-s', '-C', 'training', 'smoke']);
}
if (want('e2e')) step('browser tests', process.execPath, ['scripts/e2e.mjs']);
console.log('\nAll tests passed.');
