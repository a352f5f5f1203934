// Public surface of the export module.
export { crc32, adler32 } from './checksum';
export { zlibStored, zlibCompress, zlibInflate, hasNativeDeflate, ZlibError } from './zlib';
export {
  PNG_SIGNATURE,
  PngFormatError,
  encodePng,
  encodePngSync,
  insertTextChunks,
  readTextChunks,
  readTextEntries,
  readPngChunks,
  decodePngSize,
  decodeTextChunk,
  makeTextChunk,
  makeChunk,
  isValidKeyword,
} from './png';
export type { TextChunk, PngChunk, PngTextEntry, PixelData, PngBytes, EncodePngOptions } from './png';
export {
  SAMPLER_LABELS,
  PARAMETERS_KEYWORD,
  FEWSTEP_KEYWORD,
  samplerLabelFor,
  samplerClassFor,
  toParametersText,
  parseParametersText,
  parseParamLine,
  pngChunksFor,
  recordFromChunks,
  sanitizeRecord,
  isCompleteRecord,
} from './metadata';
export type { GenerationRecord, RngKind, ExecutionProvider, ParsedParameters } from './metadata';
export type { RgbaImage } from './image';
export { assertRgbaImage } from './image';
export { drawText, measureText, textHeight, fitText, glyphPixel, GLYPH_WIDTH, GLYPH_HEIGHT, GLYPH_ADVANCE } from './font';
export type { Rgba } from './font';
export { composeGrid, gridLayout } from './grid';
export type { GridOptions, GridLayout, Rect } from './grid';
export {
  runsToCsv,
  runsToJson,
  parseCsv,
  parseCsvObjects,
  csvField,
  formatMs,
  RUN_CSV_COLUMNS,
  STAGE_KEYS,
} from './runs';
export type { RunRecord, StageTimings, RunsJsonMeta } from './runs';
export { fileNameFor, slugify } from './filenames';
export type { FileKind, ImageNameInput, GridNameInput, RunsNameInput, SlugOptions } from './filenames';
