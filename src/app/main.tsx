import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { installBenchHook } from './bench/hook';
import { App } from './components/App';
import { initApp } from './engineBridge';
import { applyUrlSettings } from './startup';
import './styles.css';

applyUrlSettings();
// window.__fewstepBench: `npm run bench` drives the production build through it (and it stamps the cold start).
installBenchHook();
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
void initApp();
