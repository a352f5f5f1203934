/// <reference lib="webworker" />
// Worker entry: wires messages to the handler and nothing else.
import { EngineHandler } from './handler';
import type { Request } from './protocol';

const scope = self as unknown as DedicatedWorkerGlobalScope;
const handler = new EngineHandler((event, transfer) => scope.postMessage(event, transfer ?? []));
scope.onmessage = (e: MessageEvent<Request>) => void handler.handle(e.data);
