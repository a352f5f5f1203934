import { CancelledError } from './errors';

/**
 * Runs async tasks strictly one after another. onnxruntime-web is not safe for concurrent calls:
 * two session.run() (or create) calls in flight on WebGPU throw or crash, so every ORT call goes through one queue.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;

  run<T>(task: () => Promise<T>): Promise<T> {
    this.pending++;
    const result = this.tail.then(task, task);
    // Keep the chain alive whatever the task's outcome.
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result.finally(() => {
      this.pending--;
    });
  }

  get size(): number {
    return this.pending;
  }
}

/** A cooperative cancel flag checked at step boundaries. */
export class CancelToken {
  private reason: string | null = null;
  cancel(reason = 'Cancelled'): void {
    if (this.reason === null) this.reason = reason;
  }
  get cancelled(): boolean {
    return this.reason !== null;
  }
  throwIfCancelled(): void {
    if (this.reason !== null) throw new CancelledError(this.reason);
  }
}

interface Job<T> {
  id: string;
  token: CancelToken;
  work: (token: CancelToken) => Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}

/**
 * One job at a time, latest request wins: submitting a job cancels the running one (it stops at its next step
 * boundary) and drops any job still waiting, whose promise rejects with CancelledError ("superseded").
 */
export class LatestWinsRunner<T> {
  private running: Job<T> | null = null;
  private waiting: Job<T> | null = null;

  submit(id: string, work: (token: CancelToken) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const job: Job<T> = { id, token: new CancelToken(), work, resolve, reject };
      if (this.waiting) {
        this.waiting.reject(new CancelledError(`Superseded by request ${id}`));
      }
      this.waiting = job;
      this.running?.token.cancel(`Superseded by request ${id}`);
      void this.pump();
    });
  }

  /** Cancel a job by id (running or waiting); with no id, cancel everything. Returns whether anything matched. */
  cancel(id?: string): boolean {
    let hit = false;
    if (this.waiting && (id === undefined || this.waiting.id === id)) {
      this.waiting.reject(new CancelledError('Cancelled'));
      this.waiting = null;
      hit = true;
    }
    if (this.running && (id === undefined || this.running.id === id)) {
      this.running.token.cancel('Cancelled');
      hit = true;
    }
    return hit;
  }

  get activeId(): string | null {
    return this.running?.id ?? null;
  }

  private async pump(): Promise<void> {
    if (this.running || !this.waiting) return;
    const job = this.waiting;
    this.waiting = null;
    this.running = job;
    try {
      job.resolve(await job.work(job.token));
    } catch (e) {
      job.reject(e);
    } finally {
      this.running = null;
      void this.pump();
    }
  }
}
