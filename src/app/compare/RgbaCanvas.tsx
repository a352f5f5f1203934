import { memo, useEffect, useRef } from 'react';
import type { RgbaImage } from '../../engine';

/**
 * Draws an RGBA image at its own resolution; CSS scales it (pixel-crisp below 256 px). Memoised: a list of them (the
 * history strip) re-renders on every new run, and only the new one needs drawing.
 */
export const RgbaCanvas = memo(function RgbaCanvas({ image, label, className, testId }: { image: RgbaImage; label: string; className?: string; testId?: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const c = ref.current;
    if (!c) return;
    c.width = image.width;
    c.height = image.height;
    c.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(image.data), image.width, image.height), 0, 0);
  }, [image]);
  return (
    <canvas
      ref={ref}
      role="img"
      aria-label={label}
      data-testid={testId}
      className={`${className ?? ''} ${image.width < 256 ? 'pixelated' : ''}`.trim()}
    />
  );
});
