import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/**
 * Thin React wrapper: uPlot owns its canvas, React owns the container. The chart is rebuilt when options or data
 * change (cheap at these sizes) and resized with its container. uPlot's legend follows the cursor, which is how
 * hovering shows the values.
 */
export function UPlotChart({ options, data, testId }: { options: Omit<uPlot.Options, 'width'>; data: uPlot.AlignedData; testId?: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const width = (): number => Math.max(280, Math.min(720, el.clientWidth || 560));
    const plot = new uPlot({ ...options, width: width() } as uPlot.Options, data, el);
    const ro = typeof ResizeObserver !== 'undefined' ? new ResizeObserver(() => plot.setSize({ width: width(), height: options.height })) : null;
    ro?.observe(el);
    return () => {
      ro?.disconnect();
      plot.destroy();
    };
  }, [options, data]);
  return <div ref={box} className="uplot-box" data-testid={testId} />;
}
