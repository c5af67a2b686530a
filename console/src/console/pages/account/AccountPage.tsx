import { PageHeader } from '../../../shared/components';
import { useCustomerSession } from '../../session';
import { PasswordSection } from './Password';
import { TeamSection } from './Team';
import { TotpSection } from './Totp';

/** Account: password, optional TOTP, and (owners) the team's members and invitations. */
export function AccountPage() {
  const { session } = useCustomerSession();
  return (
    <>
      <PageHeader
        title="Account & team"
        description={
          <>
            Signed in as <strong>{session.user?.email}</strong> ({session.user?.role}) for {session.customer?.name ?? 'your team'}.
          </>
        }
      />
      <div className="grid-2">
        <PasswordSection />
        <TotpSection />
      </div>
      <TeamSection />
    </>
  );
}
