import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { QueryClientProvider } from '@tanstack/react-query';
import { BrowserRouter } from 'react-router';
import { configureApi } from '../shared/api';
import { createQueryClient } from '../shared/query';
import '../shared/styles.css';
import { App } from './App';

/** The operator console, served at /admin/ (vite.config.ts `base`), talking to /admin/api. */
configureApi({ base: '/admin/api', signInPath: '/admin/login', publicPaths: ['/admin/enroll'] });

const root = document.getElementById('root');
if (!root) throw new Error('#root is missing from index.html');

createRoot(root).render(
  <StrictMode>
    <QueryClientProvider client={createQueryClient()}>
      <BrowserRouter basename="/admin">
        <App />
      </BrowserRouter>
    </QueryClientProvider>
  </StrictMode>,
);
