import type { App } from '../../app-type.js';
import { registerCustomerActivityRoutes, type CustomerActivityRouteDeps } from './activity.js';
import { registerCustomerKeyConsoleRoutes, type CustomerKeyRouteDeps } from './keys.js';
import { registerCustomerTeamRoutes, type CustomerTeamRouteDeps } from './team.js';
import { registerCustomerWebhookRoutes, type CustomerWebhookRouteDeps } from './webhooks.js';
import { registerCustomerBillingRoutes, type CustomerBillingRouteDeps } from './billing.js';

/** The customer console's data routes (API.md §13), each scoped to the signed-in user's customer. */
export type CustomerConsoleRouteDeps = CustomerActivityRouteDeps & CustomerKeyRouteDeps & CustomerTeamRouteDeps & CustomerWebhookRouteDeps
  & CustomerBillingRouteDeps;

export function registerCustomerConsoleRoutes(app: App, deps: CustomerConsoleRouteDeps): void {
  registerCustomerActivityRoutes(app, deps);
  registerCustomerKeyConsoleRoutes(app, deps);
  registerCustomerWebhookRoutes(app, deps);
  registerCustomerTeamRoutes(app, deps);
  registerCustomerBillingRoutes(app, deps);
}
