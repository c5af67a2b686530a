/**
 * Server-rendered pages (`/models`, `/docs`): plain HTML with inline CSS, no script and no external asset, so they
 * read the same without JavaScript and work offline. Every interpolated value goes through `escapeHtml`.
 */
export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const CSS = `
:root{color-scheme:light dark;--fg:#1d1f23;--muted:#5b6170;--bg:#fff;--line:#dfe2e8;--accent:#1a56db;--soft:#f4f6fa;--good:#0b7a3b}
@media (prefers-color-scheme:dark){:root{--fg:#e6e8ec;--muted:#a0a7b4;--bg:#14161a;--line:#2c3038;--accent:#7aa2ff;--soft:#1c1f25;--good:#5fd08f}}
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:1100px;margin:0 auto;padding:24px 16px 64px}h1{font-size:1.7em;margin:.2em 0}h2{margin-top:2em;border-bottom:1px solid var(--line);padding-bottom:.2em}
h3{margin:1.4em 0 .3em;font-size:1.1em}a{color:var(--accent)}code{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace;background:var(--soft);padding:1px 4px;border-radius:4px}
table{border-collapse:collapse;width:100%;margin:.4em 0 1em}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--muted);font-weight:600;font-size:.9em}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.muted{color:var(--muted)}.good{color:var(--good);font-weight:600}nav a{margin-right:12px}
.card{border:1px solid var(--line);border-radius:8px;padding:12px 16px;margin:14px 0;background:var(--bg)}
.tag{display:inline-block;font-size:.8em;padding:0 6px;border-radius:4px;background:var(--soft);color:var(--muted);margin-right:4px}
.method{display:inline-block;min-width:4.5em;font-weight:700;font-family:ui-monospace,monospace}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:.4em 0}dt{color:var(--muted)}dd{margin:0}
`;

export function htmlPage(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${CSS}</style></head>
<body><main>${body}</main></body></html>
`;
}
