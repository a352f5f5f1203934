/**
 * The app proper, imported by main.tsx once the engine worker is started: URL settings, the test and bench hooks,
 * React's first render, and the model discovery and first load (engineBridge.initApp).
 */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { installBenchHook } from './bench/hook';
import { App } from './components/App';
import { initApp } from './engineBridge';
import { libraryModels } from './library/libraryBridge';
import { applyUrlSettings } from './startup';
import { installTestHook } from './testHook';
import { installUxHook } from './ux/marks';
import './styles.css';

applyUrlSettings();
// window.__fewstepBench: `npm run bench` drives the production build through it (and it stamps the cold start).
installBenchHook();
// window.__fewstepUx: input -> screen timings of the slider and the prompt box (bench/ux.mjs reads them).
installUxHook();
// window.__fewstepTest: parity replays with fixed noise for the browser tests (e2e/lora.spec.ts).
installTestHook();
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
// The library's downloaded models join the picker at startup (?model=<downloaded id> works after a reload).
void initApp([libraryModels]);
