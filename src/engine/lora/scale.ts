/**
 * The one LoRA strength range of the project: the merge refuses a scale outside it (lora/merge.ts), the catalog's
 * `defaultScale` must lie in it (catalog/validate.ts), the app's picker slider and links span it (app/lora/loraSet.ts)
 * and the CLI's `--lora file:scale` is checked against it (cli/args.ts). A strength multiplies alpha / rank * B @ A:
 * 1 applies an adapter as trained, 0 not at all, negative values subtract it. Beyond about +-2 adapters give noise
 * rather than a stronger effect (the range UIs such as diffusers' and kohya's offer).
 */
export const LORA_SCALE_RANGE = { min: -2, max: 2 } as const;

/** Whether `n` is a finite strength within {@link LORA_SCALE_RANGE}. */
export function isLoraScale(n: unknown): n is number {
  return typeof n === 'number' && Number.isFinite(n) && n >= LORA_SCALE_RANGE.min && n <= LORA_SCALE_RANGE.max;
}
