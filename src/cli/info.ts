/**
 * `fewstep info`: the engine's report on a pipeline (src/engine/inspect.ts) as JSON on stdout: components, each
 * graph's inputs and outputs (names, dtypes, shapes with symbolic dimension names), the roles the sampling loop
 * binds, the resolved scheduler config, the pipeline kind, the defaults, and problems that would stop a generation.
 * With --lora, each LoRA checked against the U-Net on its own: format, rank, alpha, keys matched and unmatched (the
 * first unmatched one named), or the engine's reason to refuse it.
 */
import { configureOrt, inspectModel } from '../engine/node';
import type { InfoOptions } from './args';
import { readLoras } from './generate';
import { openSession, type CliEnv } from './session';

/**
 * Run `info`. A folder whose graphs load but fit no pipeline is still described (its `problems` say why).
 * @throws CliError / EngineError for what makes the folder unreadable (missing file, corrupt graph or JSON)
 */
export async function runInfo(opts: InfoOptions, cli: CliEnv): Promise<void> {
  // --lora files are read first (a missing file fails before the model is read), as generate does.
  const loras = (await readLoras(opts.loras)).map((l) => ({ name: l.name, scale: l.scale, bytes: new Uint8Array(l.bytes!) }));
  const { engine, store, model } = await openSession(opts, cli);
  engine.terminate(); // only needed for a download; the report opens its own sessions
  configureOrt({ logLevel: 'error', numThreads: 1 }); // as session.ts: one WASM thread in Node
  const report = await inspectModel(model.ref, { store, ...(loras.length ? { loras } : {}) });
  cli.stdout(`${JSON.stringify({ model: { given: opts.model, id: model.id, name: model.name }, ...report }, null, 2)}\n`);
}
