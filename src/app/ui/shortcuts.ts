/**
 * Keyboard shortcuts: Ctrl/Cmd+Enter generates (also while typing), Left/Right (or Down/Up) move the steps slider
 * one position when the focus is not in a text field, select, slider or the history strip (they use arrows).
 */
import { sliderPositions } from '../compare/plan';
import { requestLive } from '../live';
import { updateSettings, useAppStore } from '../store';
import { hasCustomTimesteps } from '../timesteps';
import { markInput } from '../ux/marks';
import { useUiStore } from './uiStore';

function typingTarget(t: EventTarget | null): boolean {
  if (!(t instanceof HTMLElement)) return false;
  if (t.isContentEditable) return true;
  if (t.closest('[role="listbox"], [role="radiogroup"], [role="tablist"]')) return true;
  return ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName);
}

/**
 * Move the steps setting `delta` slider positions and regenerate; false when nothing changed (also while a custom
 * timestep list sets the step count: the slider is disabled then).
 */
export function nudgeSteps(delta: number): boolean {
  const { loaded, loading, settings } = useAppStore.getState();
  if (!loaded || loading || hasCustomTimesteps(settings)) return false;
  const positions = sliderPositions(loaded.defaults.allowedSteps ?? null, settings.steps);
  const i = Math.max(0, positions.indexOf(settings.steps));
  const next = positions[Math.max(0, Math.min(positions.length - 1, i + delta))];
  if (next === undefined || next === settings.steps) return false;
  markInput('slider');
  updateSettings({ steps: next });
  requestLive();
  return true;
}

export function onShortcutKey(e: KeyboardEvent): void {
  if ((e.ctrlKey || e.metaKey) && e.key === 'Enter') {
    const s = useAppStore.getState();
    if (!s.loaded || s.loading) return;
    e.preventDefault();
    if (useUiStore.getState().view !== 'generate') useUiStore.setState({ view: 'generate' });
    markInput('other');
    requestLive();
    return;
  }
  if (e.ctrlKey || e.metaKey || e.altKey || typingTarget(e.target)) return;
  if (useUiStore.getState().view !== 'generate') return;
  const delta = e.key === 'ArrowRight' || e.key === 'ArrowUp' ? 1 : e.key === 'ArrowLeft' || e.key === 'ArrowDown' ? -1 : 0;
  if (delta && nudgeSteps(delta)) e.preventDefault();
}

/** Install the shortcuts on the window; returns the uninstaller. */
export function installShortcuts(): () => void {
  window.addEventListener('keydown', onShortcutKey);
  return () => window.removeEventListener('keydown', onShortcutKey);
}
