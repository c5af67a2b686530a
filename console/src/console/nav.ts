import type { NavItem } from '../shared/components';

/** The left navigation, in order; paths are relative to the router's basename (/console). */
export const NAV: NavItem[] = [
  { to: '/', label: 'Overview', end: true },
  { to: '/keys', label: 'API keys' },
  { to: '/usage', label: 'Usage' },
  { to: '/tasks', label: 'Tasks' },
  { to: '/webhooks', label: 'Webhooks' },
  { to: '/billing', label: 'Billing' },
  { to: '/models', label: 'Models & prices' },
  { to: '/account', label: 'Account & team' },
];
