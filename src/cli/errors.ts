/**
 * The CLI's failures. Every failure ends the process with ONE line on stderr (`fewstep: <message>`) and a non-zero
 * exit status: 2 for a usage error (a bad or missing flag, found before any model is read), 1 for everything else
 * (a model that is missing or does not load, an engine error, a file that cannot be written).
 */

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A bad command line: unknown flag, missing or malformed value. Exit status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Anything else the CLI itself detects (missing folder, unwritable output, ...). Exit status 1. */
export class CliError extends Error {
  override name = 'CliError';
}

/** `message` as one line: newlines and runs of blanks around them become one space. */
export function oneLine(message: string): string {
  return message.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}
