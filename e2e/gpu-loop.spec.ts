import { expect, test } from '@playwright/test';
import type { BenchConfig, BenchPipeline } from '../src/app/bench/matrix';
import type { BenchRow } from '../src/app/bench/benchRunner';

/**
 * The GPU-resident loop (src/engine/gpu/) on SwiftShader WebGPU, through the app's engine: for the same seed it
 * gives the CPU loop's image (mean |difference| within 1/255, i.e. <= 1 in 0..255 units) and reads back from the
 * GPU exactly once per image, while the CPU loop reads back once per UNet run plus the VAE. Kept small: SwiftShader
 * takes seconds per VAE run. Covers the three step ports on the kernel: LCM (noise every step but the last),
 * DDIM with classifier-free guidance (batch 2 folded in the kernel), Euler (model-input scaling).
 */
test('GPU-resident loop: same image as the CPU loop, one readback per image', async ({ page }) => {
  test.setTimeout(900_000);
  await page.goto('/?ep=webgpu&seed=7');
  await page.waitForFunction(() => !!window.__fewstepBench);
  // Let the app finish its own start-up generation so ours do not queue behind it.
  await page.waitForFunction(() => window.__fewstepBench!.firstImageMs !== null, null, { timeout: 600_000 });
  await page.waitForFunction(() => !window.__fewstepBench!.appState().busy, null, { timeout: 600_000 });

  const pipelines = await page.evaluate(() => window.__fewstepBench!.pipelines());
  const pick = (...ids: string[]): BenchPipeline | undefined => ids.map((id) => pipelines.find((p) => p.id === id)).find(Boolean);
  const lcm = pick('fewstep-lcm', 'fixture-tiny-lcm');
  const cfg = pick('fewstep-teacher', 'fixture-tiny');
  const euler = pick('fewstep-turbo', 'fixture-tiny');
  const configs: BenchConfig[] = [];
  if (lcm) configs.push({ key: 'lcm', pipelineId: lcm.id, label: lcm.id, role: 'lcm', scheduler: 'LCMScheduler', steps: 2, guidanceScale: null });
  if (cfg) configs.push({ key: 'ddim-cfg', pipelineId: cfg.id, label: cfg.id, role: 'teacher', scheduler: 'DDIMScheduler', steps: 1, guidanceScale: 3 });
  if (euler) configs.push({ key: 'euler', pipelineId: euler.id, label: euler.id, role: 'turbo', scheduler: 'EulerDiscreteScheduler', steps: 1, guidanceScale: 0 });
  expect(configs.length).toBeGreaterThan(0);

  const rows: BenchRow[] = await page.evaluate(
    ([p, c]) => window.__fewstepBench!.run(p, c, { provider: 'webgpu', runs: 1, warmup: 0, bare: false, loops: ['cpu', 'gpu'], seed: 1234 }),
    [pipelines, configs] as const,
  );
  for (const r of rows) {
    const what = `${r.config.key} (${r.config.pipelineId})`;
    expect(r.error, what).toBeUndefined();
    expect(r.provider, what).toBe('webgpu');
    const cpu = r.loops.find((l) => l.loop === 'cpu')!;
    const gpu = r.loops.find((l) => l.loop === 'gpu')!;
    expect(gpu.loopReason, what).toMatch(/GPU-resident/);
    expect(gpu.readbacksPerImage, what).toBe(1);
    // CPU loop: one readback per UNet run and one for the VAE (the prompt embedding is cached after warm-up or not).
    expect(cpu.readbacksPerImage, what).toBeGreaterThanOrEqual(r.config.steps + 1);
    expect(r.cpuGpuImageDiff, what).not.toBeNull();
    expect(r.cpuGpuImageDiff!, what).toBeLessThanOrEqual(1);
  }
});
