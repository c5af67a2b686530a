import { lazy, type ReactElement } from 'react';
import { AdminsPage } from './pages/Admins';
import { CustomerDetailPage } from './pages/CustomerDetail';
import { CustomersPage } from './pages/Customers';
import { SettingsPage } from './pages/Settings';
import { AuditPage } from './pages/audit/AuditPage';
import { ChannelDetailPage } from './pages/channels/ChannelDetailPage';
import { ChannelsPage } from './pages/channels/ChannelsPage';
import { DeliveriesPage, DeliveriesRedirect } from './pages/deliveries/DeliveriesPage';
import { GroupsPage } from './pages/groups/GroupsPage';
import { ModelDetailPage } from './pages/models/ModelDetailPage';
import { ModelsPage } from './pages/models/ModelsPage';
import { TopupOrderPage } from './pages/payments/OrderDetail';
import { PaymentsPage } from './pages/payments/PaymentsPage';
import { TaskDetailPage } from './pages/tasks/TaskDetailPage';
import { TasksPage } from './pages/tasks/TasksPage';

/** The dashboard pulls in the chart library: load it on demand so sign-in and the other pages stay light. */
const DashboardPage = lazy(() => import('./pages/Dashboard').then((module) => ({ default: module.DashboardPage })));

/**
 * The pages behind sign-in, rendered inside the Layout. `path` is relative to /admin ('' = the dashboard).
 * To add a page: write `pages/Thing.tsx` exporting `ThingPage`, add it here, and make sure NAV (nav.ts) links to it.
 */
export const PAGES: { path: string; element: ReactElement }[] = [
  { path: '', element: <DashboardPage /> },
  { path: 'customers', element: <CustomersPage /> },
  { path: 'customers/:id', element: <CustomerDetailPage /> },
  { path: 'admins', element: <AdminsPage /> },
  { path: 'settings', element: <SettingsPage /> },
  { path: 'channels', element: <ChannelsPage /> },
  { path: 'channels/:id', element: <ChannelDetailPage /> },
  { path: 'models', element: <ModelsPage /> },
  { path: 'models/:id', element: <ModelDetailPage /> },
  { path: 'groups', element: <GroupsPage /> },
  { path: 'tasks', element: <TasksPage /> },
  { path: 'tasks/:id', element: <TaskDetailPage /> },
  { path: 'deliveries', element: <DeliveriesPage /> },
  { path: 'webhook-deliveries', element: <DeliveriesRedirect /> },
  { path: 'audit', element: <AuditPage /> },
  { path: 'payments', element: <PaymentsPage /> },
  { path: 'payments/:tab', element: <PaymentsPage /> },
  { path: 'payments/orders/:id', element: <TopupOrderPage /> },
];
