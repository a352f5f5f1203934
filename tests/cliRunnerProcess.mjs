#!/usr/bin/env node
// Test helper: a long-lived process that runs `fewstep` command lines one after another, each through the CLI's own
// `main` (src/cli/main.ts: the bundle bin/fewstep.mjs runs, with its argument checks, catalog, download cache,
// engine and PNG), with the wasm settings bin/fewstep.mjs uses (Liftoff only). A fresh `node bin/fewstep.mjs` pays
// a Node start, the bundle's import and onnxruntime-web's 26 MB wasm compile every time (measured on the loaded
// 2-core machine: 20-40 s a launch, against 2-3 s for the next run here); each run here still starts and
// terminates its own engine, reads the cache and writes its PNG. Used by tests/standins.int.test.ts for the runs
// after each model's first, which goes through bin/fewstep.mjs as users run it. Driven by tests/cliRunner.ts.
//   stdin:  one JSON array of argv strings per line, e.g. ["generate","--model","sd-turbo",...]
//   stdout: one JSON line per run, in order: { "code": <exit code>, "stdout": "...", "stderr": "...", "ms": <wall ms> }
// Ends when stdin ends. A line that is not an argv array, or an error outside `main`, is reported on stderr and
// exits 1.
import readline from 'node:readline';
import v8 from 'node:v8';
import { pathToFileURL } from 'node:url';
import { BUNDLE, ROOT, buildCli, isStale } from '../bin/build.mjs';

// As bin/fewstep.mjs: V8's optimizing tier would spend about a minute of CPU on the wasm; Liftoff gives the same pixels.
if (process.env.FEWSTEP_WASM_TIERUP !== '1') v8.setFlagsFromString('--liftoff-only');

const die = (message) => {
  process.stderr.write(`tests/cliRunnerProcess.mjs: ${message}\n`);
  process.exit(1);
};
process.on('unhandledRejection', (e) => die(`unhandled rejection: ${e instanceof Error ? e.stack : e}`));
process.on('uncaughtException', (e) => die(`uncaught exception: ${e instanceof Error ? e.stack : e}`));

if (await isStale()) await buildCli();
const { main } = await import(pathToFileURL(BUNDLE).href);

for await (const line of readline.createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  if (line.trim() === '') continue;
  let argv;
  try {
    argv = JSON.parse(line);
  } catch (e) {
    die(`a line is not JSON (${e instanceof Error ? e.message : e}): ${line.slice(0, 200)}`);
  }
  if (!Array.isArray(argv) || !argv.every((a) => typeof a === 'string')) die(`a line is not an array of strings: ${line.slice(0, 200)}`);
  let stdout = '';
  let stderr = '';
  const t0 = Date.now();
  const code = await main(argv, { root: ROOT, env: process.env, stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), stderrIsTTY: false });
  await new Promise((resolve) => process.stdout.write(`${JSON.stringify({ code, stdout, stderr, ms: Date.now() - t0 })}\n`, resolve));
}
// ORT's wasm keeps the event loop alive: leave once the last answer is written.
process.exit(0);
