/**
 * `window.__fewstepTest`: what the browser tests need and the UI does not offer. Replaying a parity fixture needs the
 * reference run's exact starting noise and step noises (GenerateParams.initialLatents / stepNoises, the engine's
 * `latents=`), and its final latents back; both go through the app's own engine worker and the pipeline the control
 * panel has loaded (LoRAs merged in), so a test checks what the page runs. Costs nothing until called.
 */
import type { GenerateParams } from '../engine';
import { getEngine } from './engineBridge';
import { useAppStore } from './store';

/** A generation from plain arrays (what page.evaluate can pass). */
export interface TestGenerateParams extends Omit<GenerateParams, 'initialLatents' | 'stepNoises'> {
  initialLatents?: number[];
  stepNoises?: number[][];
}

export interface TestHook {
  version: 1;
  /** Generate with the active pipeline (the model and LoRAs the control panel applied); returns the final latents. */
  generateLatents(params: TestGenerateParams): Promise<{ latents: number[]; timesteps: number[]; schedulerClass: string; modelId: string }>;
  /** The loaded model's id, its merged LoRA set and the engine's merge report (null when no model is loaded). */
  loaded(): { id: string; loras: Array<{ id: string; scale: number }>; lora: unknown } | null;
}

declare global {
  interface Window {
    __fewstepTest?: TestHook;
  }
}

/** Install `window.__fewstepTest` (main.tsx). */
export function installTestHook(): void {
  if (typeof window === 'undefined' || window.__fewstepTest) return;
  window.__fewstepTest = {
    version: 1,
    async generateLatents(p) {
      const { initialLatents, stepNoises, ...rest } = p;
      const params: GenerateParams = {
        ...rest,
        ...(initialLatents ? { initialLatents: Float32Array.from(initialLatents) } : {}),
        ...(stepNoises ? { stepNoises: stepNoises.map((n) => Float32Array.from(n)) } : {}),
      };
      const ev = await getEngine().request('generate', { params }).done;
      return { latents: Array.from(ev.result.latents), timesteps: [...ev.result.timesteps], schedulerClass: ev.result.schedulerClass, modelId: ev.modelId };
    },
    loaded() {
      const { loaded, settings } = useAppStore.getState();
      return loaded ? { id: loaded.id, loras: settings.loras, lora: loaded.lora ?? null } : null;
    },
  };
}
