import { useEffect, useState, type ComponentType } from 'react';
import { BenchPanel } from '../bench/BenchPanel';
import { Charts } from '../compare/Charts';
import { CompareSection } from '../compare/CompareSection';
import { DropZone, ExportMenu } from '../compare/ExportMenu';
import { Filmstrip } from '../compare/Filmstrip';
import { LibraryPanel } from '../library/LibraryPanel';
import { followModelVocab } from '../prompt/vocabLoader';
import { syncUrlWithSettings } from '../startup';
import { selectLast, useAppStore } from '../store';
import { installShortcuts } from '../ui/shortcuts';
import { setView, useUiStore, VIEW_LABELS, VIEWS, type View } from '../ui/uiStore';
import { ABView } from './ABView';
import { ControlPanel } from './ControlPanel';
import { HistoryStrip } from './HistoryStrip';
import { ImageView } from './ImageView';
import { ModelStatus } from './ModelStatus';
import { Notice } from './Notice';
import { Timings } from './Timings';

/** A new interactive image replaces a result picked from the history. */
function followNewRuns(): () => void {
  return useAppStore.subscribe((s, prev) => {
    if (s.runs === prev.runs || !useUiStore.getState().shownRunId) return;
    if (selectLast(s) !== selectLast(prev)) useUiStore.setState({ shownRunId: null });
  });
}

function Tabs() {
  const view = useUiStore((s) => s.view);
  return (
    <nav className="tabs" role="tablist" aria-label="Views" data-testid="tabs">
      {VIEWS.map((v) => (
        <button
          key={v}
          type="button"
          role="tab"
          id={`tab-${v}`}
          aria-selected={v === view}
          aria-controls={`view-${v}`}
          tabIndex={v === view ? 0 : -1}
          data-testid={`tab-${v}`}
          className={v === view ? 'on' : ''}
          onClick={() => setView(v)}
          onKeyDown={(e) => {
            const d = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
            if (!d) return;
            e.preventDefault();
            const next = VIEWS[(VIEWS.indexOf(v) + d + VIEWS.length) % VIEWS.length];
            setView(next);
            document.getElementById(`tab-${next}`)?.focus();
          }}
        >
          {VIEW_LABELS[v]}
        </button>
      ))}
    </nav>
  );
}

/**
 * The A/B view, folded by default. Mounted only while open: closed, it would still redraw its two canvases and
 * rebuild its two run lists on every new image (work on each slider move and keystroke that nobody sees).
 */
function ABDetails() {
  const [open, setOpen] = useState(false);
  return (
    <details className="ab-details" data-testid="ab-toggle" onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>A/B compare two results</summary>
      {open && <ABView />}
    </details>
  );
}

function GenerateView() {
  return (
    <div className="generate-view">
      <section className="stage" aria-label="Image">
        <ImageView />
        <HistoryStrip />
      </section>
      <ControlPanel />
      <section className="output" aria-label="Details">
        <ABDetails />
        <Timings />
        <ExportMenu />
        <Filmstrip />
      </section>
    </div>
  );
}

/** The grid, with the exports next to it (grid PNG, runs CSV/JSON). */
function CompareView() {
  return (
    <>
      <CompareSection />
      <ExportMenu />
    </>
  );
}

const PANELS: Record<View, ComponentType> = {
  generate: GenerateView,
  compare: CompareView,
  charts: Charts,
  library: LibraryPanel,
  bench: BenchPanel,
};

export function App() {
  // Settings -> URL (history.replaceState), so the address bar always shares the current view.
  useEffect(() => syncUrlWithSettings(), []);
  useEffect(() => followModelVocab(), []);
  useEffect(() => followNewRuns(), []);
  useEffect(() => installShortcuts(), []);
  const view = useUiStore((s) => s.view);
  const Panel = PANELS[view];
  return (
    <div className="app">
      <header className="top">
        <h1>Fewstep</h1>
        <span className="tagline">few-step diffusion, on your own GPU</span>
        <ModelStatus />
      </header>
      <Tabs />
      <Notice />
      <main id={`view-${view}`} role="tabpanel" aria-labelledby={`tab-${view}`} className={`view view-${view}`} data-view={view}>
        <Panel />
      </main>
      <DropZone />
    </div>
  );
}
