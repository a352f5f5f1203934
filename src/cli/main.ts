/**
 * The `fewstep` command line (bin/fewstep.mjs runs the bundle of this file):
 *   fewstep generate --model <folder|URL|catalog id> --prompt "<text>" [flags] --out image.png
 *   fewstep info --model <folder|URL|catalog id>
 * `main` never throws and never exits: it returns the exit status (errors.ts) after writing at most one error line.
 */
import { isCancelled } from '../engine';
import { generateOptions, helpText, infoOptions, parseArgv } from './args';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, oneLine, UsageError } from './errors';
import { runGenerate } from './generate';
import { runInfo } from './info';
import { APP_VERSION } from './record';
import type { CliEnv } from './session';

export type { CliEnv } from './session';

/**
 * Run one command.
 * @param argv  the arguments after the script name
 * @returns the exit status: 0 done, 1 failed, 2 bad command line; a failure wrote exactly one line to stderr
 */
export async function main(argv: readonly string[], cli: CliEnv): Promise<number> {
  try {
    const { command, values } = parseArgv(argv);
    if (values.version) {
      cli.stdout(`fewstep ${APP_VERSION}\n`);
      return EXIT_OK;
    }
    if (values.help || command === null) {
      cli.stdout(`${helpText(command)}\n`);
      return EXIT_OK;
    }
    if (command === 'generate') await runGenerate(generateOptions(values), cli);
    else await runInfo(infoOptions(values), cli);
    return EXIT_OK;
  } catch (e) {
    // On a terminal a download progress line may be open: the error replaces it rather than trailing it.
    cli.stderr(`${cli.stderrIsTTY ? '\r\x1b[K' : ''}fewstep: ${describeError(e)}\n`);
    return e instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
  }
}

/** One line for any failure: the error's own message (engine errors name the file and what to do). */
export function describeError(e: unknown): string {
  if (isCancelled(e)) return 'cancelled';
  if (e instanceof Error) return oneLine(e.message || e.name);
  return oneLine(String(e));
}
