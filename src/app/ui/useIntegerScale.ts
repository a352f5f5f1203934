import { useLayoutEffect, useState, type RefObject } from 'react';

/**
 * The largest whole-number multiple of `size` that fits the element's width and `maxPx` (at least 1x), so a
 * 64x64 image is scaled by nearest neighbour without uneven pixel rows.
 */
export function useIntegerScale(ref: RefObject<HTMLElement | null>, size: number, maxPx: number): number {
  const [px, setPx] = useState(size * Math.max(1, Math.floor(maxPx / size)));
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el || size <= 0) return;
    const fit = (): void => {
      const avail = Math.min(el.clientWidth || maxPx, maxPx);
      setPx(size * Math.max(1, Math.floor(avail / size)));
    };
    fit();
    if (typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(fit);
    ro.observe(el);
    return () => ro.disconnect();
  }, [ref, size, maxPx]);
  return px;
}
