/**
 * Quality scores for generated images: the attribute classifier in models/evaluator/ (training/train_evaluator.py)
 * predicts each scene attribute (count, background, shape, colour, size, position, or left/right shape and colour);
 * the score is the fraction of the attributes named in the prompt that the image shows, the per-image version of
 * the "attribute accuracy" in models/REPORT.md. Prompts outside the training grammar (training/fewstep/grammar.py)
 * cannot be scored.
 *
 * models/evaluator/labels.json:
 *   { input: { name: "image", shape: ["batch", 3, 64, 64], range: [-1, 1] },
 *     outputs: { logits: { shape: ["batch", N] }, features: {...} },
 *     attributes: [{ name, classes: [...], offset, size }, ...] }
 */
import { EngineError } from './errors';
import type { RgbaImage } from './image';
import { createSession, type Provider, type SessionHandle } from './ort';

export interface EvaluatorAttribute {
  name: string;
  classes: string[];
  offset: number;
  size: number;
}

export interface EvaluatorLabels {
  inputName: string;
  height: number;
  width: number;
  range: [number, number];
  logitsName: string;
  attributes: EvaluatorAttribute[];
}

export interface EvaluatorScore {
  /** Fraction (0..1) of the prompt's attributes the classifier sees in the image; null when the prompt has none it knows. */
  attributeAccuracy: number | null;
  /** Every prompted attribute matched. */
  promptMatch: boolean | null;
  /** What the classifier predicts for each prompted attribute. */
  predicted: Record<string, string>;
  /** The prompt's attributes as parsed (empty when the prompt is outside the grammar). */
  expected: Record<string, string>;
  ms: number;
}

const LABELS_FILE = 'labels.json';
const MODEL_FILE = 'model.onnx';

export function parseLabels(json: unknown): EvaluatorLabels {
  const o = json as Record<string, unknown> | null;
  const bad = (why: string): never => {
    throw new EngineError('MODEL_FILE_CORRUPT', `evaluator ${LABELS_FILE}: ${why}`, LABELS_FILE);
  };
  if (!o || typeof o !== 'object') bad('expected a JSON object');
  const input = (o!.input ?? {}) as { name?: unknown; shape?: unknown; range?: unknown };
  const shape = Array.isArray(input.shape) ? input.shape : [];
  const h = Number(shape[2]);
  const w = Number(shape[3]);
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 1 || w < 1) bad(`input.shape must be [batch, 3, H, W], got ${JSON.stringify(input.shape)}`);
  const range = Array.isArray(input.range) && input.range.length === 2 ? (input.range as number[]) : [-1, 1];
  const attrs = Array.isArray(o!.attributes) ? (o!.attributes as unknown[]) : bad('no "attributes" list');
  const attributes = (attrs as Array<Record<string, unknown>>).map((a, i) => {
    if (typeof a?.name !== 'string' || !Array.isArray(a.classes) || !Number.isInteger(a.offset)) bad(`attribute ${i} needs name, classes and offset`);
    const classes = (a.classes as unknown[]).map(String);
    return { name: a.name as string, classes, offset: a.offset as number, size: Number.isInteger(a.size) ? (a.size as number) : classes.length };
  });
  const outputs = (o!.outputs ?? {}) as Record<string, unknown>;
  return {
    inputName: typeof input.name === 'string' ? input.name : 'image',
    height: h,
    width: w,
    range: [Number(range[0]), Number(range[1])],
    logitsName: 'logits' in outputs || Object.keys(outputs).length === 0 ? 'logits' : Object.keys(outputs)[0],
    attributes,
  };
}

const POSITION_WORD: Record<string, string> = {
  'in the center': 'center',
  'on the left': 'left',
  'on the right': 'right',
  'at the top': 'top',
  'at the bottom': 'bottom',
};

/**
 * The scene a prompt describes, in the evaluator's attribute names, following training/fewstep/grammar.py:
 *   "a large red circle on the left on a black background"
 *   "a red circle and a blue square on a gray background"
 * Returns null for any other prompt.
 */
export function sceneFromPrompt(prompt: string): Record<string, string> | null {
  const p = prompt.trim().toLowerCase().replace(/\s+/g, ' ').replace(/[.!]$/, '');
  const one = /^an? (\w+) (\w+) (\w+) (in the center|on the left|on the right|at the top|at the bottom) on an? (\w+) background$/.exec(p);
  if (one) return { count: '1', size: one[1], colour: one[2], shape: one[3], position: POSITION_WORD[one[4]], background: one[5] };
  const two = /^an? (\w+) (\w+) and an? (\w+) (\w+) on an? (\w+) background$/.exec(p);
  if (two) return { count: '2', left_colour: two[1], left_shape: two[2], right_colour: two[3], right_shape: two[4], background: two[5] };
  return null;
}

/** Box-filter resize to the evaluator's size and NCHW float in its range. */
export function imageToInput(img: RgbaImage, height: number, width: number, range: [number, number] = [-1, 1]): Float32Array {
  const out = new Float32Array(3 * height * width);
  const [lo, hi] = range;
  for (let y = 0; y < height; y++) {
    const y0 = Math.floor((y * img.height) / height);
    const y1 = Math.max(y0 + 1, Math.floor(((y + 1) * img.height) / height));
    for (let x = 0; x < width; x++) {
      const x0 = Math.floor((x * img.width) / width);
      const x1 = Math.max(x0 + 1, Math.floor(((x + 1) * img.width) / width));
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) s += img.data[(yy * img.width + xx) * 4 + c];
        const v = s / ((y1 - y0) * (x1 - x0)) / 255;
        out[c * height * width + y * width + x] = lo + v * (hi - lo);
      }
    }
  }
  return out;
}

/** Compares the argmax of each prompted attribute's logit slice with the prompt. */
export function scoreLogits(logits: ArrayLike<number>, attributes: readonly EvaluatorAttribute[], expected: Record<string, string>): Omit<EvaluatorScore, 'ms'> {
  const predicted: Record<string, string> = {};
  let checked = 0;
  let hits = 0;
  for (const a of attributes) {
    if (!(a.name in expected)) continue;
    let best = 0;
    for (let k = 1; k < a.size; k++) if (logits[a.offset + k] > logits[a.offset + best]) best = k;
    predicted[a.name] = a.classes[best];
    checked++;
    if (a.classes[best] === expected[a.name]) hits++;
  }
  return {
    attributeAccuracy: checked ? hits / checked : null,
    promptMatch: checked ? hits === checked : null,
    predicted,
    expected,
  };
}

export class Evaluator {
  private constructor(
    private readonly session: SessionHandle,
    readonly labels: EvaluatorLabels,
  ) {}

  /** Loads labels.json + model.onnx from a folder URL ("…/models/evaluator/"). */
  static async load(baseUrl: string, provider: Provider = 'wasm'): Promise<Evaluator> {
    const get = async (file: string): Promise<Response> => {
      const r = await fetch(`${baseUrl}${file}`);
      if (!r.ok) throw new EngineError('MODEL_FILE_MISSING', `evaluator ${file} could not be fetched (HTTP ${r.status}) from ${baseUrl}`, file);
      return r;
    };
    const labels = parseLabels(await (await get(LABELS_FILE)).json());
    const session = await createSession(await (await get(MODEL_FILE)).arrayBuffer(), `evaluator/${MODEL_FILE}`, provider);
    return new Evaluator(session, labels);
  }

  async score(image: RgbaImage, prompt: string): Promise<EvaluatorScore> {
    const t0 = performance.now();
    const expected = sceneFromPrompt(prompt) ?? {};
    if (Object.keys(expected).length === 0) {
      return { attributeAccuracy: null, promptMatch: null, predicted: {}, expected, ms: 0 };
    }
    const { inputName, height, width, range, logitsName } = this.labels;
    const input = imageToInput(image, height, width, range);
    const out = await this.session.run({ [inputName]: [input, [1, 3, height, width]] }, [logitsName]);
    return { ...scoreLogits(out[logitsName].data, this.labels.attributes, expected), ms: performance.now() - t0 };
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
