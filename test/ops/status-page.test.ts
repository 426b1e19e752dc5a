import { createHash } from 'node:crypto';
import { Script } from 'node:vm';
import { Linter } from 'eslint';
import js from '@eslint/js';
import { describe, expect, it } from 'vitest';
import { STATUS_PAGE_HEADERS, STATUS_PAGE_SCRIPT, statusPageHtml } from '../../src/ops/status-page/page.js';
import { STATUS_PAGE_CSS } from '../../src/ops/status-page/style.js';

// The page's browser code is held as strings, so the TypeScript compiler and the project's lint
// never see it: these checks parse and lint it as the browser will run it. test/ops/status-page
// .browser.test.ts then drives it in a real Chromium.

/** Exactly the browser API the page may use; anything else is a typo or an unplanned dependency. */
const BROWSER_GLOBALS = ['document', 'window', 'fetch', 'URLSearchParams', 'setTimeout', 'clearTimeout'] as const;

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

describe('status page document', () => {
  const html = statusPageHtml();

  it('parses as a script', () => {
    expect(() => new Script(STATUS_PAGE_SCRIPT)).not.toThrow();
  });

  it('passes eslint recommended rules with only the browser globals it is meant to use', () => {
    const linter = new Linter({ configType: 'flat' });
    const globals = Object.fromEntries(BROWSER_GLOBALS.map((name) => [name, 'readonly' as const]));
    const messages = linter.verify(STATUS_PAGE_SCRIPT, [
      {
        ...js.configs.recommended,
        languageOptions: { ecmaVersion: 2020, sourceType: 'script', globals },
        rules: { ...js.configs.recommended.rules, 'no-unused-vars': 'error', 'no-undef': 'error', 'no-implicit-globals': 'error' },
      },
    ]);
    expect(messages.map((m) => `${m.line}:${m.column} ${m.ruleId}: ${m.message}`)).toEqual([]);
  });

  it('is self-contained: no external script, style, font, image or link', () => {
    expect(html).not.toMatch(/<script[^>]+src=/i);
    expect(html.replace('<link rel="icon" href="data:,">', '')).not.toMatch(/<link\b/i);
    // The SVG namespace is a name, never fetched.
    expect(html.replaceAll("'http://www.w3.org/2000/svg'", '')).not.toMatch(/https?:\/\//i);
    expect(html).not.toMatch(/url\(/i);
  });

  it('the Content-Security-Policy allows exactly the inline script and style it serves', () => {
    const csp = STATUS_PAGE_HEADERS['Content-Security-Policy'] as string;
    expect(html).toContain(`<script>${STATUS_PAGE_SCRIPT}</script>`);
    expect(html).toContain(`<style>${STATUS_PAGE_CSS}</style>`);
    expect(csp).toContain(`script-src ${sha256(STATUS_PAGE_SCRIPT)}`);
    expect(csp).toContain(`style-src ${sha256(STATUS_PAGE_CSS)}`);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
  });

  it('carries its endpoints and polling interval as data, safe even with a hostile path', () => {
    const page = statusPageHtml({ snapshotPath: '/x</script><script>alert(1)</script>', routePath: '/r', intervalMs: 1500 });
    const config = /<script type="application\/json" id="status-config">(.*?)<\/script>/s.exec(page)?.[1];
    expect(config).toBeDefined();
    expect(JSON.parse(config as string)).toEqual({ snapshot_path: '/x</script><script>alert(1)</script>', route_path: '/r', interval_ms: 1500 });
    expect(page.match(/<script/g)?.length).toBe(2);
  });

  it('has every section the status page promises', () => {
    for (const id of ['summary', 'buckets', 'requests', 'blob-redirects', 'origin-fallbacks', 'reloads', 'geo', 'caches', 'explorer']) {
      expect(html).toContain(`<section id="${id}"`);
    }
  });
});
