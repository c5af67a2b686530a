import { lazy, type ReactElement } from 'react';
import { AccountPage } from './pages/account/AccountPage';
import { BillingPage } from './pages/Billing';
import { ReceiptPage } from './pages/billing/Receipt';
import { TopupPage } from './pages/billing/TopupPage';
import { KeysPage } from './pages/keys/KeysPage';
import { ModelsPage } from './pages/Models';
import { TaskDetailPage } from './pages/tasks/TaskDetailPage';
import { TasksPage } from './pages/tasks/TasksPage';
import { WebhooksPage } from './pages/webhooks/WebhooksPage';

/** The pages with charts pull in the chart library: load them on demand so sign-in stays light. */
const OverviewPage = lazy(() => import('./pages/overview/OverviewPage').then((module) => ({ default: module.OverviewPage })));
const UsagePage = lazy(() => import('./pages/Usage').then((module) => ({ default: module.UsagePage })));

/** The pages behind sign-in, inside the Layout. `path` is relative to /console ('' = the overview). */
export const PAGES: { path: string; element: ReactElement }[] = [
  { path: '', element: <OverviewPage /> },
  { path: 'keys', element: <KeysPage /> },
  { path: 'usage', element: <UsagePage /> },
  { path: 'tasks', element: <TasksPage /> },
  { path: 'tasks/:id', element: <TaskDetailPage /> },
  { path: 'webhooks', element: <WebhooksPage /> },
  { path: 'billing', element: <BillingPage /> },
  { path: 'billing/topups/:id', element: <TopupPage /> },
  { path: 'billing/topups/:id/receipt', element: <ReceiptPage /> },
  { path: 'models', element: <ModelsPage /> },
  { path: 'account', element: <AccountPage /> },
];
