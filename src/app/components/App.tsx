import { useEffect } from 'react';
import { BenchPanel } from '../bench/BenchPanel';
import { Charts } from '../compare/Charts';
import { CompareSection } from '../compare/CompareSection';
import { DropZone, ExportMenu } from '../compare/ExportMenu';
import { Filmstrip } from '../compare/Filmstrip';
import { LibraryPanel } from '../library/LibraryPanel';
import { syncUrlWithSettings } from '../startup';
import { ControlPanel } from './ControlPanel';
import { ImageView } from './ImageView';
import { ModelStatus } from './ModelStatus';
import { Timings } from './Timings';

export function App() {
  // Settings -> URL (history.replaceState), so the address bar always shares the current view.
  useEffect(() => syncUrlWithSettings(), []);
  return (
    <div className="app">
      <header className="top">
        <h1>Fewstep</h1>
        <span className="tagline">few-step diffusion, on your own GPU</span>
        <ModelStatus />
      </header>
      <main className="layout">
        <ControlPanel />
        <section className="output">
          <ImageView />
          <Timings />
          <ExportMenu />
          <Filmstrip />
        </section>
      </main>
      <CompareSection />
      <Charts />
      <DropZone />
      <LibraryPanel />
      <BenchPanel />
    </div>
  );
}
