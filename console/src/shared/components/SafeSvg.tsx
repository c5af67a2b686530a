import { createElement, useMemo, type ReactNode } from 'react';

/**
 * Renders a server-generated SVG (the enrollment QR code from the `qrcode` package) as React elements, without
 * `dangerouslySetInnerHTML` and without a data:/blob: image (the console's CSP is `default-src 'self'`, which refuses
 * both). Only plain shape elements and presentation attributes survive; anything else (scripts, links, styles,
 * event handlers, foreign content, `url(...)` references) is dropped.
 */
const ELEMENTS = new Set(['svg', 'g', 'path', 'rect']);
const ATTRIBUTES: Record<string, string> = {
  viewBox: 'viewBox',
  width: 'width',
  height: 'height',
  x: 'x',
  y: 'y',
  d: 'd',
  fill: 'fill',
  stroke: 'stroke',
  'stroke-width': 'strokeWidth',
  'shape-rendering': 'shapeRendering',
};
const SAFE_VALUE = /^[#A-Za-z0-9 .,\-]*$/;

function convert(node: Element, key: number): ReactNode {
  const tag = node.localName;
  if (!ELEMENTS.has(tag) || node.namespaceURI !== 'http://www.w3.org/2000/svg') return null;
  const props: Record<string, string | number> = { key };
  for (const attribute of Array.from(node.attributes)) {
    const name = ATTRIBUTES[attribute.name];
    if (name && SAFE_VALUE.test(attribute.value)) props[name] = attribute.value;
  }
  const children = Array.from(node.children).map((child, index) => convert(child, index));
  return createElement(tag, props, ...children);
}

export function SafeSvg(props: { svg: string; title: string; className?: string }) {
  const element = useMemo(() => {
    const document = new DOMParser().parseFromString(props.svg, 'image/svg+xml');
    const root = document.documentElement;
    if (root.localName !== 'svg' || document.getElementsByTagName('parsererror').length > 0) return null;
    return convert(root, 0);
  }, [props.svg]);
  if (!element) return <p className="muted">The QR code could not be shown; use the secret instead.</p>;
  return (
    <div className={props.className} role="img" aria-label={props.title}>
      {element}
    </div>
  );
}
