/** Shared UI building blocks. Import from here: `import { DataTable, Field, Modal } from '../../shared/components';` */
export { AppRoutes, SESSION_SCREENS, SignedInLayout, type PageRoute } from './AppShell';
export { DataTable, type Column } from './DataTable';
export { ChartEmpty, Empty, ErrorState, FormError, Loading, Notice } from './Feedback';
export { Checkbox, Field, fieldError } from './Field';
export { FilterBar, type FilterField } from './FilterBar';
export { InviteDialogs, type InviteExtra } from './Invite';
export { Layout, type NavItem } from './Layout';
export { ConfirmDialog, Modal } from './Modal';
export { Details, PageHeader, Section, pageTitle, setTitleSuffix } from './Page';
export { Pager, usePager, type PagerState } from './Pager';
export { SafeSvg } from './SafeSvg';
export { AuthShell, failureText, PasswordStep, SecondFactorStep } from './SignIn';
export { CopyButton, CopyInline, SecretDialog, SecretOnce } from './Secret';
export { Badge, Credits, DateTime, Id, Mono, StatusBadge, TimeAgo, toneOf, type Tone } from './Values';
