/**
 * Live generation while typing and sliding (issue 15): at most one interactive request in flight plus one waiting
 * "latest" request. The engine's LatestWinsRunner would also drop stale work, but a 1-step run cannot be cancelled
 * mid-step, so sending one request per keystroke only buys cancelled runs and events; here a burst of keystrokes
 * costs at most one extra generation, and the last one always runs with the newest settings.
 */
import { generate } from './engineBridge';
import { useAppStore } from './store';

/** Steps up to which the image follows the prompt as you type (1-2 step models: ~10 ms per image on WASM). */
export const LIVE_MAX_STEPS = 2;

let inFlight = false;
let again = false;

/**
 * Generate now, or right after the generation in flight (coalescing every request made meanwhile). Callers stamp
 * the input first (ux/marks.markInput), so a coalesced request is timed from the earliest input it serves.
 */
export function requestLive(): void {
  if (inFlight) {
    again = true;
    return;
  }
  inFlight = true;
  void generate().finally(() => {
    inFlight = false;
    if (again) {
      again = false;
      requestLive();
    }
  });
}

/** Whether typing regenerates: a loaded model, idle loader, a few-step setting and something to draw. */
export function liveTypingOn(): boolean {
  const s = useAppStore.getState();
  return !!s.loaded && !s.loading && s.settings.steps <= LIVE_MAX_STEPS;
}
