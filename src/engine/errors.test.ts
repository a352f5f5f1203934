import { describe, expect, it } from 'vitest';
import { CatalogError } from './catalog/schema';
import { CustomSourceError } from './catalog/custom';
import {
  asEngineError,
  CancelledError,
  DownloadError,
  EngineError,
  errorFromWire,
  errorToWire,
  type DownloadFailure,
  type EngineErrorCode,
} from './errors';

describe('one error vocabulary', () => {
  it('a DownloadError is an EngineError that keeps its message and file, with an engine code per failure kind', () => {
    const cases: Array<[DownloadFailure, EngineErrorCode]> = [
      ['not-found', 'MODEL_FILE_MISSING'],
      ['network', 'NETWORK'],
      ['http', 'NETWORK'],
      ['truncated', 'MODEL_FILE_CORRUPT'],
      ['size-mismatch', 'MODEL_FILE_CORRUPT'],
      ['integrity', 'MODEL_FILE_CORRUPT'],
      ['quota', 'STORAGE'],
      ['storage', 'STORAGE'],
    ];
    for (const [reason, engineCode] of cases) {
      const e = new DownloadError(reason, `boom ${reason}`, { file: 'unet/model.onnx' });
      expect(e).toBeInstanceOf(EngineError);
      expect(e.code).toBe(engineCode);
      expect(e.reason).toBe(reason);
      expect(e.message).toBe(`boom ${reason}`);
      expect(e.file).toBe('unet/model.onnx');
    }
  });

  it('errors keep their class, code, reason, message and file across the worker boundary', () => {
    const d = errorFromWire(structuredClone(errorToWire(new DownloadError('integrity', 'bad hash', { file: 'unet/model.onnx' }))));
    expect(d).toBeInstanceOf(DownloadError);
    expect(d).toMatchObject({ name: 'DownloadError', code: 'MODEL_FILE_CORRUPT', reason: 'integrity', message: 'bad hash', file: 'unet/model.onnx' });
    const c = errorFromWire(errorToWire(new CancelledError('stop')));
    expect(c).toBeInstanceOf(CancelledError);
    const m = errorFromWire(errorToWire(new EngineError('MODEL_FILE_MISSING', 'no unet', 'unet/model.onnx')));
    expect(m).toMatchObject({ name: 'EngineError', code: 'MODEL_FILE_MISSING', message: 'no unet', file: 'unet/model.onnx' });
    expect(errorFromWire(errorToWire(new TypeError('x')))).toMatchObject({ code: 'INTERNAL', message: 'Unexpected engine error: x' });
  });

  it('catalog and custom-source errors are engine errors with their own codes', () => {
    expect(new CatalogError(['a: b'])).toMatchObject({ code: 'CATALOG_INVALID', name: 'CatalogError' });
    expect(new CatalogError(['a: b'])).toBeInstanceOf(EngineError);
    expect(new CustomSourceError('no')).toMatchObject({ code: 'CUSTOM_SOURCE_INVALID', name: 'CustomSourceError' });
  });

  it('asEngineError keeps engine errors and wraps anything else without changing its message', () => {
    const e = new EngineError('NETWORK', 'down');
    expect(asEngineError(e)).toBe(e);
    expect(asEngineError(new Error('plain'))).toMatchObject({ code: 'INTERNAL', message: 'plain' });
    expect(asEngineError('text')).toMatchObject({ code: 'INTERNAL', message: 'text' });
    expect(asEngineError(new DOMException('Cancelled', 'AbortError'))).toBeInstanceOf(CancelledError);
  });
});
