/** The engine in the calling thread: same handler and client as the worker, no postMessage. For Node and tests. */
import { EngineClient, type Engine } from './client';
import { EngineHandler } from './handler';

export function createInlineEngine(): Engine {
  let client: EngineClient;
  // Events are delivered asynchronously, like postMessage, so callers see the same ordering as with a worker.
  const handler = new EngineHandler((ev) => queueMicrotask(() => client.receive(ev)));
  client = new EngineClient(
    (req) => void handler.handle(req),
    () => undefined,
  );
  return client;
}
