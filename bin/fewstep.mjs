#!/usr/bin/env node
// The `fewstep` command (package.json "bin"): runs the CLI bundle built from src/cli by bin/build.mjs, rebuilding it
// first when it is missing or older than its sources. See src/cli/README.md.
import { BUNDLE, ROOT, buildCli, isStale } from './build.mjs';
import { pathToFileURL } from 'node:url';
import v8 from 'node:v8';

// onnxruntime-web's 26 MB wasm: with V8's default tiering, Node 20 spends about a minute of CPU optimizing it in
// the background and does not exit before that is done (measured on the 2-core dev machine: 2 min for a 64x64
// image, 3 s with Liftoff only). Liftoff-only code gives the same pixels (wasm is deterministic; checked on both
// shipped test models). FEWSTEP_WASM_TIERUP=1 keeps V8's optimizing tier (long runs of large models may gain).
// Set before the bundle loads: the flag is read when ORT compiles its wasm, at the first session.
if (process.env.FEWSTEP_WASM_TIERUP !== '1') v8.setFlagsFromString('--liftoff-only');

/** Exit once stdout and stderr are flushed (pipes are asynchronous in Node; ORT's threads would keep us alive). */
function exit(code) {
  let pending = 2;
  const done = () => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}

const fail = (message) => {
  process.stderr.write(`fewstep: ${String(message).replace(/\s*[\r\n]+\s*/g, ' ').trim()}\n`);
  exit(1);
};
process.on('unhandledRejection', (e) => fail(e instanceof Error ? e.message : e));
process.on('uncaughtException', (e) => fail(e instanceof Error ? e.message : e));

try {
  if (await isStale()) await buildCli();
} catch (e) {
  fail(`could not build the CLI from src/cli (${e instanceof Error ? e.message : e}); run npm install`);
}
const { main } = await import(pathToFileURL(BUNDLE).href);
const code = await main(process.argv.slice(2), {
  root: ROOT,
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  stderrIsTTY: process.stderr.isTTY === true,
});
exit(code);
