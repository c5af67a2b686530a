/** Shared UI building blocks. Import from here: `import { DataTable, Field, Modal } from '../../shared/components';` */
export { DataTable, type Column } from './DataTable';
export { Empty, ErrorState, FormError, Loading, Notice } from './Feedback';
export { Checkbox, Field, fieldError } from './Field';
export { Layout, type NavItem } from './Layout';
export { ConfirmDialog, Modal } from './Modal';
export { Details, PageHeader, Section, setTitleSuffix } from './Page';
export { Pager, usePager, type PagerState } from './Pager';
export { SafeSvg } from './SafeSvg';
export { CanWrite, OwnerOnly } from './RoleGate';
export { CopyButton, CopyInline, SecretOnce } from './Secret';
export { Badge, Credits, DateTime, Id, Mono, StatusBadge, TimeAgo, toneOf, type Tone } from './Values';
