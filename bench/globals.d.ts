// bench/run.mjs and bench/ux.mjs wait for the app's hooks (`waitForFunction(() => !!window.__fewstepBench)`, its
// first image) before they call them, so in this program the hooks are always there. Declaring them as globals
// (only in bench/tsconfig.json's program) makes `window.__fewstepBench` and `window.__fewstepUx` non-optional: the
// app's own declarations (src/app/bench/hook.ts, src/app/ux/marks.ts) keep them optional, and the intersection
// `Window & typeof globalThis` takes the required ones.
import type { BenchHook } from '../src/app/bench/hook';
import type { UxHook } from '../src/app/ux/marks';

declare global {
  var __fewstepBench: BenchHook;
  var __fewstepUx: UxHook;
}
