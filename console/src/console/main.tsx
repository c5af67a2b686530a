import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { QueryClientProvider } from '@tanstack/react-query';
import { BrowserRouter } from 'react-router';
import { configureApi } from '../shared/api';
import { setTitleSuffix } from '../shared/components';
import { createQueryClient } from '../shared/query';
import '../shared/styles.css';
import { App } from './App';

/** The customer console, served at /console/ (vite.config.ts `base`), talking to /console/api. */
configureApi({
  base: '/console/api',
  signInPath: '/console/login',
  publicPaths: ['/console/signup', '/console/verify', '/console/reset'],
});
setTitleSuffix('genrelay console');

const root = document.getElementById('root');
if (!root) throw new Error('#root is missing from index.html');

createRoot(root).render(
  <StrictMode>
    <QueryClientProvider client={createQueryClient()}>
      <BrowserRouter basename="/console">
        <App />
      </BrowserRouter>
    </QueryClientProvider>
  </StrictMode>,
);
