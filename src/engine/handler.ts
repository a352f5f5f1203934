/**
 * The engine's message dispatch, independent of any Worker: tests drive it with a fake `post`.
 * One model at a time; one generation at a time (latest request wins, cancel stops at the next step boundary);
 * a failed load keeps the previous model working.
 */
import { CancelledError, EngineError, errorToWire, isCancelled } from './errors';
import { configureOrt } from './ort';
import { Pipeline } from './pipeline';
import type { EngineEvent, LoadedModel, Request } from './protocol';
import { LatestWinsRunner } from './queue';
import { FileMapSource, UrlSource, type ModelSource } from './source';

export type Post = (event: EngineEvent, transfer?: Transferable[]) => void;

export class EngineHandler {
  private pipeline: Pipeline | null = null;
  private model: LoadedModel | null = null;
  private loadAbort: { id: string; controller: AbortController } | null = null;
  private readonly runner = new LatestWinsRunner<void>();

  constructor(private readonly post: Post) {}

  async handle(req: Request): Promise<void> {
    try {
      switch (req.type) {
        case 'configure':
          configureOrt({ numThreads: req.numThreads });
          this.post({ type: 'ack', id: req.id });
          return;
        case 'load':
          return await this.load(req);
        case 'generate':
          return await this.generate(req);
        case 'cancel':
          if (req.target === undefined || this.loadAbort?.id === req.target) this.loadAbort?.controller.abort();
          this.runner.cancel(req.target);
          this.post({ type: 'ack', id: req.id });
          return;
        case 'unload':
          this.runner.cancel();
          await this.pipeline?.release();
          this.pipeline = null;
          this.model = null;
          this.post({ type: 'ack', id: req.id });
          return;
        default: {
          const never: never = req;
          throw new EngineError('BAD_REQUEST', `Unknown request type ${(never as { type: string }).type}`);
        }
      }
    } catch (e) {
      this.fail(req.id, e);
    }
  }

  private fail(id: string, e: unknown): void {
    if (isCancelled(e)) this.post({ type: 'cancelled', id, reason: (e as Error).message || 'Cancelled' });
    else this.post({ type: 'error', id, error: errorToWire(e) });
  }

  private async load(req: Extract<Request, { type: 'load' }>): Promise<void> {
    this.loadAbort?.controller.abort();
    const controller = new AbortController();
    this.loadAbort = { id: req.id, controller };
    // A generation in flight would compete with session creation; stop it at its next step.
    this.runner.cancel();
    const source: ModelSource =
      req.model.kind === 'url'
        ? new UrlSource(req.model.baseUrl)
        : new FileMapSource(req.model.name, new Map(req.model.files.map((f) => [f.path, f.blob])));
    try {
      const next = await Pipeline.load(source, {
        name: req.model.name,
        provider: req.provider,
        signal: controller.signal,
        onProgress: (progress) => this.post({ type: 'load-progress', id: req.id, progress }),
      });
      if (controller.signal.aborted) {
        await next.release();
        throw new CancelledError('Load cancelled');
      }
      const old = this.pipeline;
      this.pipeline = next;
      this.model = { ...next.info, id: req.model.id };
      await old?.release();
      this.post({ type: 'loaded', id: req.id, model: this.model });
    } finally {
      if (this.loadAbort?.id === req.id) this.loadAbort = null;
    }
  }

  private async generate(req: Extract<Request, { type: 'generate' }>): Promise<void> {
    await this.runner.submit(req.id, async (token) => {
      const pipeline = this.pipeline;
      const model = this.model;
      if (!pipeline || !model) {
        throw new EngineError('NO_MODEL_LOADED', 'No model is loaded yet: pick a model and wait for it to load.');
      }
      const result = await pipeline.generate(req.params, token, (step) => {
        this.post({ type: 'step', id: req.id, step }, step.preview ? [step.preview.data.buffer as ArrayBuffer] : []);
      });
      this.post({ type: 'result', id: req.id, result, modelId: model.id, provider: model.provider }, [
        result.image.data.buffer as ArrayBuffer,
      ]);
    });
  }
}
