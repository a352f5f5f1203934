import { ControlPanel } from './ControlPanel';
import { ImageView } from './ImageView';
import { ModelStatus } from './ModelStatus';
import { Timings } from './Timings';

export function App() {
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
        </section>
      </main>
    </div>
  );
}
