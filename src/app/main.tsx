/**
 * Entry point, kept small on purpose (issue 15, cold open): it starts the engine worker first, so the worker's
 * script, onnxruntime's runtime and its warm-up (engine/worker.ts) load while the browser fetches and evaluates the
 * app (boot.tsx: React, the views, the stores), which used to run before the worker was even requested.
 */
import { startEngine } from './engineWorker';

startEngine();
void import('./boot');
