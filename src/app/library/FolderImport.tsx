import { useState, type DragEvent } from 'react';
import { REQUIRED_LAYOUT } from '../../engine';
import type { PickedFile } from './format';
import { importFolder, loadCustomSource } from './libraryBridge';
import { useLibraryStore } from './libraryStore';

/** Every file under a dropped directory entry, with its path relative to the drop. */
async function walkEntry(entry: FileSystemEntry, prefix: string, out: PickedFile[]): Promise<void> {
  if (entry.isFile) {
    const file = await new Promise<File>((res, rej) => (entry as FileSystemFileEntry).file(res, rej));
    out.push({ path: `${prefix}${entry.name}`, file });
    return;
  }
  if (!entry.isDirectory) return;
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  for (;;) {
    // readEntries returns at most ~100 entries per call: read until empty.
    const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
    if (batch.length === 0) break;
    for (const e of batch) await walkEntry(e, `${prefix}${entry.name}/`, out);
  }
}

async function pickedFromDrop(dt: DataTransfer): Promise<PickedFile[]> {
  const out: PickedFile[] = [];
  const entries = [...dt.items].map((i) => i.webkitGetAsEntry?.()).filter((e): e is FileSystemEntry => !!e);
  if (entries.length === 0) return [...dt.files].map((f) => ({ path: f.name, file: f }));
  for (const e of entries) await walkEntry(e, '', out);
  return out;
}

/** Load a diffusers ONNX export from a local folder (picker or drop); the layout is checked first. */
export function FolderImport() {
  const folder = useLibraryStore((s) => s.folder);
  const [over, setOver] = useState(false);
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    void pickedFromDrop(e.dataTransfer).then(importFolder);
  };
  return (
    <div
      className={`folder-import${over ? ' drag-over' : ''}`}
      data-testid="folder-drop"
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={onDrop}
    >
      <label>
        Load a folder from disk (or drop it here)
        <input
          type="file"
          data-testid="folder-input"
          multiple
          ref={(el) => {
            // React has no typed prop for these; they make the picker choose a directory.
            el?.setAttribute('webkitdirectory', '');
            el?.setAttribute('directory', '');
          }}
          onChange={(e) => {
            const files = [...(e.target.files ?? [])];
            void importFolder(files.map((f) => ({ path: f.webkitRelativePath || f.name, file: f })));
            e.target.value = '';
          }}
        />
      </label>
      <p className="muted">
        A diffusers ONNX export: {REQUIRED_LAYOUT.map((r) => r.label ?? r.path).join(', ')} (model_index.json optional; graphs may also be
        in a flat onnx/ folder, as webnn/sdxl-turbo has them). Nothing is uploaded.
      </p>
      {folder.message && (
        <div
          className={folder.status === 'error' ? 'error' : 'muted'}
          role={folder.status === 'error' ? 'alert' : 'status'}
          data-testid={folder.status === 'error' ? 'import-error' : 'import-status'}
          data-missing={folder.missing.join(' ')}
        >
          {folder.message}
        </div>
      )}
    </div>
  );
}

/** Load from any https base URL of a diffusers ONNX export (validated; Hugging Face page URLs work). */
export function CustomSource() {
  const custom = useLibraryStore((s) => s.custom);
  const [url, setUrl] = useState('');
  return (
    <form
      className="custom-source"
      onSubmit={(e) => {
        e.preventDefault();
        void loadCustomSource(url);
      }}
    >
      <label>
        Custom source URL
        <input
          type="text"
          inputMode="url"
          spellCheck={false}
          data-testid="custom-url"
          placeholder="https://huggingface.co/owner/name"
          value={url}
          onChange={(e) => setUrl(e.target.value)}
        />
      </label>
      <button type="submit" data-testid="custom-load" disabled={custom.status === 'loading'}>
        Load
      </button>
      <p className="muted">https only (or a path on this site). This page's security policy lets it fetch from this site and huggingface.co.</p>
      {custom.message && (
        <div className={custom.status === 'error' ? 'error' : 'muted'} role={custom.status === 'error' ? 'alert' : 'status'} data-testid={custom.status === 'error' ? 'custom-error' : 'custom-status'}>
          {custom.message}
        </div>
      )}
    </form>
  );
}
