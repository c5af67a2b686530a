import { PageHeader, Section } from '../../shared/components';
import { LedgerSection } from './billing/LedgerSection';
import { TopupHistory } from './billing/TopupHistory';
import { TopupPanel } from './billing/TopupForm';

/**
 * Billing: buy credits (card through Stripe Checkout, or USDT to a watch-only address), the top-up orders with their
 * receipts, and every credit that entered or left the wallet (the ledger). The order pages are billing/TopupPage.tsx
 * (`/billing/topups/:id`) and billing/Receipt.tsx (`/billing/topups/:id/receipt`).
 */
export function BillingPage() {
  return (
    <>
      <PageHeader title="Billing" description="Buy credits, follow your top-ups and see every credit that entered or left your wallet." />
      <Section title="Add credits">
        <TopupPanel />
      </Section>
      <Section title="Top-ups">
        <TopupHistory />
      </Section>
      <LedgerSection />
    </>
  );
}
