/**
 * In-browser quality scores: when the build ships models/evaluator/ (labels.json + model.onnx), each grid image is
 * scored by the engine's `score` request and the score is attached to its run in `runs` (grid cell, charts, CSV).
 */
import type { EvaluatorScore } from '../../engine';
import { getEngine } from '../engineBridge';
import { useAppStore, type RunResult } from '../store';
import { useCompareStore } from './compareStore';

const BASE = import.meta.env.BASE_URL;
export const EVALUATOR_URL = `${BASE}models/evaluator/`;

let available: Promise<boolean> | null = null;

/** Whether the evaluator's files are served (checked once per page). */
export function evaluatorAvailable(): Promise<boolean> {
  available ??= (async () => {
    const ok = async (f: string): Promise<boolean> => {
      try {
        const r = await fetch(`${EVALUATOR_URL}${f}`, { method: 'HEAD' });
        return r.ok && !(r.headers.get('content-type') ?? '').includes('text/html');
      } catch {
        return false;
      }
    };
    const [a, b] = await Promise.all([ok('labels.json'), ok('model.onnx')]);
    useCompareStore.setState({ evaluator: a && b ? 'available' : 'missing' });
    return a && b;
  })();
  return available;
}

/** Scores one run's image; on success records the attribute accuracy on the run (stored once, in `runs`). */
export async function scoreRun(run: RunResult): Promise<EvaluatorScore | null> {
  if (!(await evaluatorAvailable())) return null;
  let score: EvaluatorScore | null = null;
  try {
    await getEngine().request('score', { image: run.result.image, prompt: run.params.prompt, evaluatorUrl: EVALUATOR_URL }, (ev) => {
      if (ev.type === 'scored') score = ev.score;
    }).done;
  } catch (e) {
    useCompareStore.setState({ evaluator: 'failed', evaluatorError: (e as Error).message });
    return null;
  }
  const s = score as EvaluatorScore | null;
  if (!s || s.attributeAccuracy === null) {
    useCompareStore.setState({ unscorablePrompt: run.params.prompt });
    return s;
  }
  const qualityScore = s.attributeAccuracy;
  run.qualityScore = qualityScore;
  useAppStore.setState((x) => ({ runs: x.runs.map((r) => (r.requestId === run.requestId ? { ...r, qualityScore } : r)) }));
  return s;
}
