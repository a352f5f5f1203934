import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './components/App';
import { initApp } from './engineBridge';
import { applyUrlSettings } from './startup';
import './styles.css';

applyUrlSettings();
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
void initApp();
