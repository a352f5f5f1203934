import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { decodePngSize } from '../src/export/png';

// public/ (issue 11): favicon, web app manifest and icons, served by Vite as static files and linked from index.html.
const ROOT = resolve(import.meta.dirname, '..');
const PUBLIC = resolve(ROOT, 'public');
const read = (rel: string): string => readFileSync(resolve(ROOT, rel), 'utf8');

describe('public/ static assets', () => {
  it('index.html links the favicon (svg + png), apple-touch-icon, manifest and theme colour, all present', () => {
    const html = read('index.html');
    const links = [...html.matchAll(/<link rel="([^"]+)" href="([^"]+)"/g)].map((m) => [m[1], m[2]]);
    expect(links).toEqual([
      ['icon', '/favicon.svg'],
      ['icon', '/favicon.png'],
      ['apple-touch-icon', '/apple-touch-icon.png'],
      ['manifest', '/manifest.webmanifest'],
    ]);
    for (const [, href] of links) expect(existsSync(resolve(PUBLIC, href.slice(1))), href).toBe(true);
    expect(html).toContain('<meta name="theme-color" content="#1d1d22" />');
    expect(readFileSync(resolve(PUBLIC, 'favicon.svg'), 'utf8')).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" viewBox="0 0 512 512">/);
    expect(decodePngSize(readFileSync(resolve(PUBLIC, 'favicon.png')))).toEqual({ width: 32, height: 32 });
    expect(decodePngSize(readFileSync(resolve(PUBLIC, 'apple-touch-icon.png')))).toEqual({ width: 180, height: 180 });
  });

  it('the manifest names the app, runs standalone from the app root and lists 192 and 512 px icons that exist', () => {
    const m = JSON.parse(readFileSync(resolve(PUBLIC, 'manifest.webmanifest'), 'utf8'));
    expect(m).toMatchObject({ name: 'Fewstep', short_name: 'Fewstep', display: 'standalone', start_url: './', scope: './' });
    expect(m.theme_color).toMatch(/^#[0-9a-f]{6}$/);
    for (const px of [192, 512]) {
      const icon = m.icons.find((i: { sizes: string }) => i.sizes === `${px}x${px}`);
      expect(icon, `${px} px icon`).toMatchObject({ type: 'image/png' });
      expect(decodePngSize(readFileSync(resolve(PUBLIC, icon.src)))).toEqual({ width: px, height: px });
    }
    for (const icon of m.icons) expect(existsSync(resolve(PUBLIC, icon.src)), icon.src).toBe(true);
  });

  it("the page's CSP lets the same-origin icons and manifest load (default-src and img-src 'self', no manifest-src)", () => {
    const config = read('vite.config.ts');
    expect(config).toContain(`"default-src 'self'"`);
    expect(config).toMatch(/"img-src 'self'[^"]*"/);
    expect(config).not.toMatch(/manifest-src/);
  });
});
