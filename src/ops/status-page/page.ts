import { createHash } from 'node:crypto';
import { ROUTE_EXPLORER_PATH, STATUS_SNAPSHOT_PATH } from '../status-model.js';
import { STATUS_SCRIPT_APP } from './script-app.js';
import { STATUS_SCRIPT_DOM } from './script-dom.js';
import { STATUS_SCRIPT_EXPLORER } from './script-explorer.js';
import { STATUS_PAGE_CSS } from './style.js';

/*
 * The status page as one self-contained HTML document: style, script and layout inline, no
 * external asset (an empty data: icon keeps browsers from asking for /favicon.ico), so it works
 * offline and behind a port-forward. It reads the JSON snapshot
 * (status-model.ts) and asks /debug/route for the route explorer.
 */

export interface StatusPageOptions {
  snapshotPath?: string;
  routePath?: string;
  /** How often the page polls while visible. */
  intervalMs?: number;
}

/** The page's script: every part inside one strict-mode function, so nothing leaks to window. */
export const STATUS_PAGE_SCRIPT = `(function () {\n'use strict';\n${STATUS_SCRIPT_DOM}${STATUS_SCRIPT_EXPLORER}${STATUS_SCRIPT_APP}\nrefresh();\n})();\n`;

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/**
 * Headers to serve the page with. The CSP allows exactly this script and style (by hash) and
 * requests to this origin only, so nothing in a snapshot can run as code or load from elsewhere.
 */
export const STATUS_PAGE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Type': 'text/html; charset=utf-8',
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy': [
    "default-src 'none'",
    `script-src ${sha256(STATUS_PAGE_SCRIPT)}`,
    `style-src ${sha256(STATUS_PAGE_CSS)}`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
});

function section(id: string, title: string, body: string, wide = false): string {
  return `<section id="${id}"${wide ? ' class="wide"' : ''}><h2>${title}</h2>${body}</section>`;
}

const EXPLORER_FORM = `<form id="explore-form" class="inline">
<label>Client address<input id="explore-ip" name="ip" required value="203.0.113.7" spellcheck="false"></label>
<label>Path<input id="explore-path" name="path" class="path" required value="/v2/pause/manifests/3.10" spellcheck="false"></label>
<label>Method<select id="explore-method" name="method"><option>GET</option><option>HEAD</option></select></label>
<button type="submit">Explain</button></form>
<p class="note">The running configuration decides, with the same code as live requests; a blob question may send existence HEADs to buckets.</p>
<div id="explore-result"></div>`;

const BODY = [
  section('summary', 'At a glance', '<div id="summary-cards" class="cards"><p class="empty">loading…</p></div>', true),
  section('buckets', 'Buckets', '<p id="cache-ratio" class="note"></p><div id="bucket-table"></div>'),
  section('requests', 'Requests per second by route and status', '<div id="request-table"></div>'),
  section('blob-redirects', 'Blob redirects by provider, region and target', '<div id="redirect-chart"></div>', true),
  section('origin-fallbacks', 'Origin fallbacks and why', '<p id="fallback-total" class="note"></p><div id="fallback-reasons"></div>'),
  section('reloads', 'Reloads', '<p id="config-loaded" class="note"></p><div id="reload-facts"></div>'),
  section('geo', 'Cloud ranges data', '<div id="geo-facts"></div>'),
  section('caches', 'Cache bounds', '<div id="cache-table"></div>'),
  section('explorer', 'Route explorer', EXPLORER_FORM, true),
].join('\n');

/** `<` in JSON inside a script element would let a value close it; escaped, it stays data. */
function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replaceAll('<', '\\u003c');
}

export function statusPageHtml(options: StatusPageOptions = {}): string {
  const config = {
    snapshot_path: options.snapshotPath ?? STATUS_SNAPSHOT_PATH,
    route_path: options.routePath ?? ROUTE_EXPLORER_PATH,
    interval_ms: options.intervalMs ?? 5000,
  };
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>registry-edge status</title>
<link rel="icon" href="data:,">
<style>${STATUS_PAGE_CSS}</style>
</head>
<body>
<header><h1>registry-edge</h1><span id="version" class="meta"></span><span id="updated" class="meta"></span><span id="live-state" class="meta" data-state="starting">starting</span></header>
<div id="auth" hidden><form id="auth-form" class="inline"><label>Admin token (admin.token_file)<input id="token" type="password" autocomplete="off" required></label><button type="submit">Use it</button></form>
<p class="note">Kept in this tab only (sessionStorage) and sent as Authorization: Bearer.</p></div>
<main>
${BODY}
</main>
<script type="application/json" id="status-config">${jsonForScript(config)}</script>
<script>${STATUS_PAGE_SCRIPT}</script>
</body>
</html>
`;
}
