import type { RgbaImage as EngineImage } from '../engine';

/**
 * A plain RGBA8 raster (row-major, 4 bytes per pixel), compatible with ImageData: the engine's RgbaImage
 * (engine/image.ts owns the type), whose pixels may also come as a plain Uint8Array here.
 */
export type RgbaImage = Omit<EngineImage, 'data'> & { data: EngineImage['data'] | Uint8Array };

/** Throws a RangeError unless `img` is a well-formed RGBA image. */
export function assertRgbaImage(img: RgbaImage, what = 'image'): void {
  if (!Number.isInteger(img.width) || !Number.isInteger(img.height) || img.width < 1 || img.height < 1) {
    throw new RangeError(`${what}: invalid size ${img.width}x${img.height}`);
  }
  if (img.data.length !== img.width * img.height * 4) {
    throw new RangeError(`${what}: data has ${img.data.length} bytes, expected ${img.width * img.height * 4}`);
  }
}
