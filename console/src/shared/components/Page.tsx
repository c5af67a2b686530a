import { useEffect, useId, type ReactNode } from 'react';

let titleSuffix = 'genrelay admin';

/** What follows the page title in `document.title` (`Keys · genrelay console`); set once by each app's main.tsx. */
export function setTitleSuffix(suffix: string): void {
  titleSuffix = suffix;
}

/** The app's name as the title suffix gives it (`genrelay console`). */
export function appName(): string {
  return titleSuffix;
}

/** `document.title` for a page: `Sign in · genrelay admin`. */
export function pageTitle(title: string): string {
  return `${title} · ${titleSuffix}`;
}

/** The top of a page: its `<h1>`, an optional description and actions on the right. Sets the document title. */
export function PageHeader(props: { title: string; description?: ReactNode; actions?: ReactNode; back?: ReactNode }) {
  useEffect(() => {
    document.title = pageTitle(props.title);
  }, [props.title]);
  return (
    <header className="page-header">
      {props.back && <div className="page-back">{props.back}</div>}
      <div className="page-header-row">
        <div>
          <h1>{props.title}</h1>
          {props.description && <p className="muted">{props.description}</p>}
        </div>
        {props.actions && <div className="actions">{props.actions}</div>}
      </div>
    </header>
  );
}

/** A titled block of a page. */
export function Section(props: { title: ReactNode; actions?: ReactNode; children: ReactNode }) {
  const id = useId();
  return (
    <section className="section" aria-labelledby={id}>
      <div className="section-header">
        <h2 id={id}>{props.title}</h2>
        {props.actions && <div className="actions">{props.actions}</div>}
      </div>
      {props.children}
    </section>
  );
}

/** Label/value pairs (a `<dl>`). */
export function Details(props: { items: [ReactNode, ReactNode][] }) {
  return (
    <dl className="details">
      {props.items.map(([term, value], index) => (
        <div key={index}>
          <dt>{term}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}
