/**
 * Which configurations the benchmark times: the classic few-step table (teacher DDIM 50/25/10 and DDPM 1000,
 * progressive 8/4/2/1, LCM 8/4/2/1, Turbo 4/2/1) over whatever pipelines this build serves. Shipped models are
 * preferred; without them the random-weight fixtures stand in, labelled as such (same interfaces, meaningless
 * images, so no quality score). Sampler names and the optional sampler sweep come from the sampler registry
 * (src/schedulers/registry.ts): a registered sampler shows up here with no edit to this file.
 */
import { samplerClassFor, samplerLabel, samplerRow, samplerRows } from '../../schedulers';

export interface BenchPipeline {
  id: string;
  name: string;
  baseUrl: string;
  /** Random-weight test fixture standing in for a shipped model. */
  fixture: boolean;
}

/** `sampler`: a row of the sampler sweep (MatrixOptions.samplers). */
export type BenchRole = 'teacher' | 'progressive' | 'lcm' | 'turbo' | 'sampler';

export interface BenchConfig {
  /** Unique row key, e.g. "fewstep-teacher/teacher/DDIM/50". */
  key: string;
  pipelineId: string;
  /** What the row stands for in the table (a fixture plays the role of the shipped model). */
  label: string;
  role: BenchRole;
  /** diffusers scheduler class. */
  scheduler: string;
  /** Its short label from the sampler registry (e.g. "Euler a"), for bench/run.mjs's tables (Node, no registry). */
  samplerLabel?: string;
  steps: number;
  /** null: the model's default guidance scale. */
  guidanceScale: number | null;
  /** The teacher's DDIM-50 row: the speed-up reference. */
  reference?: boolean;
}

export interface MatrixOptions {
  /** Include the teacher's DDPM 1000-step row (1000 UNet runs per image). */
  ddpm?: boolean;
  /** Keep only these pipeline ids (fixture ids are "fixture-tiny", "fixture-tiny-lcm"). */
  pipelines?: string[];
  /** Keep only these step counts. */
  steps?: number[];
  /**
   * Sampler sweep: also time these registered samplers ('all': every row of the registry; names as the registry's
   * samplerClassFor takes them) at SWEEP_STEPS on one pipeline each: the LCM pipeline for samplers made for a
   * guidance embedding, else the teacher, with the model's default guidance. Off by default.
   */
  samplers?: 'all' | readonly string[];
}

/** Step count of the sampler sweep's rows. */
export const SWEEP_STEPS = 4;

export function defaultMatrix(available: readonly BenchPipeline[], opts: MatrixOptions = {}): BenchConfig[] {
  const has = (id: string): BenchPipeline | undefined => available.find((p) => p.id === id);
  const out: BenchConfig[] = [];
  const add = (p: BenchPipeline, role: BenchRole, scheduler: string, steps: number[], guidanceScale: number | null, stand = ''): void => {
    for (const s of steps) {
      out.push({
        key: `${p.id}/${role}/${samplerLabel(scheduler)}/${s}`,
        pipelineId: p.id,
        label: p.fixture ? `${p.id} as ${role}${stand} (random weights)` : p.id,
        role,
        scheduler,
        samplerLabel: samplerLabel(scheduler),
        steps: s,
        guidanceScale,
        ...(role === 'teacher' && scheduler === 'DDIMScheduler' && s === 50 ? { reference: true } : {}),
      });
    }
  };
  const teacher = has('fewstep-teacher') ?? has('fixture-tiny');
  if (teacher) {
    add(teacher, 'teacher', 'DDIMScheduler', [50, 25, 10], null);
    if (opts.ddpm) add(teacher, 'teacher', 'DDPMScheduler', [1000], null);
  }
  const progressive = [8, 4, 2, 1].map((n) => has(`fewstep-progressive-${n}`));
  if (progressive.some(Boolean)) {
    [8, 4, 2, 1].forEach((n, i) => {
      const p = progressive[i];
      if (p) add(p, 'progressive', 'DDIMScheduler', [n], 1);
    });
  } else if (has('fixture-tiny')) {
    add(has('fixture-tiny')!, 'progressive', 'DDIMScheduler', [8, 4, 2, 1], 1);
  }
  const lcm = has('fewstep-lcm') ?? has('fixture-tiny-lcm');
  if (lcm) add(lcm, 'lcm', 'LCMScheduler', [8, 4, 2, 1], null);
  const turbo = has('fewstep-turbo') ?? has('fixture-tiny');
  if (turbo) add(turbo, 'turbo', 'EulerDiscreteScheduler', [4, 2, 1], 0);
  const sweep = opts.samplers === 'all' ? samplerRows() : (opts.samplers ?? []).map((n) => samplerRow(samplerClassFor(n))).filter((r) => r !== undefined);
  for (const row of sweep) {
    const p = row.needs.guidanceEmbedding ? lcm : teacher;
    if (p) add(p, 'sampler', row.className, [SWEEP_STEPS], null);
  }
  return out.filter(
    (c) => (!opts.pipelines?.length || opts.pipelines.includes(c.pipelineId)) && (!opts.steps?.length || opts.steps.includes(c.steps)),
  );
}
