import { useEffect, useRef, useState } from 'react';
import { selectLast, useAppStore } from '../store';
import { useCompareStore } from './compareStore';
import { exportGrid, exportImage, exportRuns, importPng } from './exporters';

/**
 * Downloads (image PNG with metadata, grid PNG, runs CSV/JSON) and PNG import (button or drop anywhere on the page).
 * Each button says why it is disabled.
 */
export function ExportMenu() {
  const last = useAppStore(selectLast);
  const nRuns = useAppStore((s) => s.runs.length);
  const note = useAppStore((s) => s.importNote);
  const gridImages = useCompareStore((s) => Object.values(s.cells).filter((c) => c.runId).length);
  const gridBusy = useCompareStore((s) => s.status === 'running' || s.status === 'stopping');
  const [error, setError] = useState<string | null>(null);
  const picker = useRef<HTMLInputElement>(null);
  const guard = (f: () => Promise<void> | void) => async () => {
    setError(null);
    try {
      await f();
    } catch (e) {
      setError(`Export failed: ${(e as Error).message}`);
    }
  };
  return (
    <section className="export" aria-label="Export and import">
      <div className="row wrap">
        <button type="button" data-testid="export-image" disabled={!last} title={last ? 'PNG with the generation settings embedded' : 'Generate an image first'} onClick={guard(() => exportImage(last!))}>
          Image PNG
        </button>
        <button
          type="button"
          data-testid="export-grid"
          disabled={gridImages === 0 || gridBusy}
          title={gridImages === 0 ? 'Run the comparison first' : gridBusy ? 'Wait for the comparison to finish or stop it' : 'The comparison grid as one labelled PNG'}
          onClick={guard(exportGrid)}
        >
          Grid PNG
        </button>
        <button type="button" data-testid="export-csv" disabled={nRuns === 0} title={nRuns ? `${nRuns} measured runs` : 'No runs measured yet'} onClick={guard(() => exportRuns('csv'))}>
          Runs CSV
        </button>
        <button type="button" data-testid="export-json" disabled={nRuns === 0} title={nRuns ? `${nRuns} measured runs` : 'No runs measured yet'} onClick={guard(() => exportRuns('json'))}>
          Runs JSON
        </button>
        <button type="button" data-testid="import-button" onClick={() => picker.current?.click()} title="Restore settings from a PNG exported here (or from another Stable Diffusion UI)">
          Open PNG…
        </button>
        <input
          ref={picker}
          type="file"
          accept="image/png"
          data-testid="import-file"
          hidden
          onChange={(e) => {
            const f = e.target.files?.[0];
            e.target.value = '';
            if (f) void importPng(f);
          }}
        />
      </div>
      <p className="hint">{nRuns} run{nRuns === 1 ? '' : 's'} measured this session. Drop a PNG anywhere to restore its settings.</p>
      {note && (
        <p className={note.ok ? 'note-ok' : 'error'} role="status" data-testid="import-note">
          {note.message}
        </p>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}

/** Accept a PNG dropped anywhere on the page; shows an overlay while dragging. */
export function DropZone() {
  const [over, setOver] = useState(false);
  useEffect(() => {
    let depth = 0;
    const hasFiles = (e: DragEvent): boolean => [...(e.dataTransfer?.types ?? [])].includes('Files');
    const enter = (e: DragEvent): void => {
      if (!hasFiles(e)) return;
      depth++;
      setOver(true);
    };
    const leave = (): void => {
      depth = Math.max(0, depth - 1);
      if (depth === 0) setOver(false);
    };
    const overFn = (e: DragEvent): void => {
      if (hasFiles(e)) e.preventDefault();
    };
    const drop = (e: DragEvent): void => {
      // A drop zone of its own (the library's folder import) already handled it.
      if (!hasFiles(e) || e.defaultPrevented) {
        depth = 0;
        setOver(false);
        return;
      }
      e.preventDefault();
      depth = 0;
      setOver(false);
      const f = [...(e.dataTransfer?.files ?? [])].find((x) => x.type === 'image/png' || x.name.toLowerCase().endsWith('.png'));
      if (f) void importPng(f);
      else useAppStore.setState({ importNote: { ok: false, message: 'Drop a PNG file to restore its settings.' } });
    };
    window.addEventListener('dragenter', enter);
    window.addEventListener('dragleave', leave);
    window.addEventListener('dragover', overFn);
    window.addEventListener('drop', drop);
    return () => {
      window.removeEventListener('dragenter', enter);
      window.removeEventListener('dragleave', leave);
      window.removeEventListener('dragover', overFn);
      window.removeEventListener('drop', drop);
    };
  }, []);
  return over ? <div className="drop-overlay">Drop a PNG to restore its settings</div> : null;
}
