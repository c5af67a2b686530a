import type { NavItem } from '../shared/components';

/**
 * The left navigation, in order. Paths are relative to the router's basename (/admin). Every entry must have a route
 * in routes.tsx once its page exists; until then the link lands on the console's "Page not found".
 */
export const NAV: NavItem[] = [
  { to: '/', label: 'Dashboard', end: true },
  { to: '/customers', label: 'Customers' },
  { to: '/payments', label: 'Payments' },
  { to: '/channels', label: 'Channels & accounts' },
  { to: '/models', label: 'Models & prices' },
  { to: '/groups', label: 'Groups' },
  { to: '/tasks', label: 'Tasks' },
  { to: '/deliveries', label: 'Webhook deliveries' },
  { to: '/audit', label: 'Audit log' },
  { to: '/admins', label: 'Admins & sessions' },
  { to: '/settings', label: 'Settings' },
];
