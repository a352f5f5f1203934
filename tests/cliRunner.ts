/**
 * Drives tests/cliRunnerProcess.mjs: one Node process that runs `fewstep` command lines one after another through the
 * CLI's own `main` (the Node start, bundle import and onnxruntime-web wasm compile are paid once, not per run).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

/** One CLI run: its exit code, what it printed, and its wall time in ms. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface CliRunner {
  /** Run `fewstep <args...>` (after every run asked for before it). */
  run(args: readonly string[]): Promise<CliRun>;
  /** End the process (after the runs asked for); resolves when it has exited. */
  close(): Promise<void>;
}

/**
 * Start tests/cliRunnerProcess.mjs in `root` (the package root).
 * A run rejects when the process exits before answering it, with the process's stderr in the message.
 */
export function startCliRunner(root: string): CliRunner {
  const child = spawn(process.execPath, [join(root, 'tests', 'cliRunnerProcess.mjs')], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
  const waiting: Array<{ resolve: (r: CliRun) => void; reject: (e: Error) => void }> = [];
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    for (let i = out.indexOf('\n'); i >= 0; i = out.indexOf('\n')) {
      const line = out.slice(0, i);
      out = out.slice(i + 1);
      waiting.shift()?.resolve(JSON.parse(line) as CliRun);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<void>((resolve) =>
    child.on('exit', (code, signal) => {
      for (const w of waiting.splice(0)) w.reject(new Error(`tests/cliRunnerProcess.mjs exited (${code ?? signal}) before answering: ${err.trim() || 'no message'}`));
      resolve();
    }),
  );
  return {
    run(args) {
      return new Promise((resolve, reject) => {
        if (child.exitCode !== null || child.signalCode !== null) {
          reject(new Error(`tests/cliRunnerProcess.mjs has exited (${child.exitCode ?? child.signalCode}): ${err.trim() || 'no message'}`));
          return;
        }
        waiting.push({ resolve, reject });
        child.stdin.write(`${JSON.stringify(args)}\n`);
      });
    },
    close() {
      child.stdin.end();
      return exited;
    },
  };
}
