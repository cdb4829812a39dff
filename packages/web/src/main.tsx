import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app.js';
import { initI18n } from './i18n/i18n.js';
import { applyTheme } from './theme/theme.js';
import './styles.css';

applyTheme();
initI18n();
const root = document.getElementById('root');
if (!root) throw new Error('no #root element');
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
