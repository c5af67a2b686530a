import { PageHeader } from '../../../shared/components';
import { ModeSwitch, useMode } from '../../components';
import { DeliveriesSection } from './Deliveries';
import { EndpointsSection } from './Endpoints';
import { SigningSecretSection } from './SigningSecret';

/**
 * Webhooks: the signing secret (owners, after re-entering the password), the registered endpoints of the chosen mode
 * (create, delete, rotate their secret) and the deliveries log with status codes and a retry button.
 */
export function WebhooksPage() {
  const [mode, setMode] = useMode();
  return (
    <>
      <PageHeader
        title="Webhooks"
        description="genrelay calls your endpoints when a task finishes. Every call is signed (Standard Webhooks)."
        actions={<ModeSwitch mode={mode} onChange={setMode} />}
      />
      <SigningSecretSection mode={mode} />
      <EndpointsSection mode={mode} />
      <DeliveriesSection mode={mode} />
    </>
  );
}
