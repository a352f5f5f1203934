/**
 * `fewstep info`: the engine's report on a pipeline (src/engine/inspect.ts) as JSON on stdout: components, each
 * graph's inputs and outputs (names, dtypes, shapes with symbolic dimension names), the roles the sampling loop
 * binds, the resolved scheduler config, the pipeline kind, the defaults, and problems that would stop a generation.
 */
import { configureOrt, inspectModel } from '../engine/node';
import type { ModelOptions } from './args';
import { openSession, type CliEnv } from './session';

/**
 * Run `info`. A folder whose graphs load but fit no pipeline is still described (its `problems` say why).
 * @throws CliError / EngineError for what makes the folder unreadable (missing file, corrupt graph or JSON)
 */
export async function runInfo(opts: ModelOptions, cli: CliEnv): Promise<void> {
  const { engine, store, model } = await openSession(opts, cli);
  engine.terminate(); // only needed for a download; the report opens its own sessions
  configureOrt({ logLevel: 'error', numThreads: 1 }); // as session.ts: one WASM thread in Node
  const report = await inspectModel(model.ref, { store });
  cli.stdout(`${JSON.stringify({ model: { given: opts.model, id: model.id, name: model.name }, ...report }, null, 2)}\n`);
}
