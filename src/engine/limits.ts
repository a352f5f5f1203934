/**
 * Limits of a generation request, defined once: the engine validates against them, and the app uses the same
 * values for its inputs (seed field, prompt box, steps) and for settings restored from a URL or a PNG.
 */
export const GENERATE_LIMITS = {
  /** Seeds are 32-bit: the Gaussian generator and torch.manual_seed both take 0..2^32-1. */
  maxSeed: 2 ** 32 - 1,
  /** Characters of a prompt (and of a negative prompt). CLIP reads 77 tokens; longer text is truncated anyway. */
  maxPromptLength: 1000,
  minSteps: 1,
  maxSteps: 1000,
  minGuidance: 0,
  maxGuidance: 30,
} as const;

/** A seed the engine accepts: an integer in 0..GENERATE_LIMITS.maxSeed. */
export function isValidSeed(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= GENERATE_LIMITS.maxSeed;
}
