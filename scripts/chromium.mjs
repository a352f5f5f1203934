/**
 * Find a Chromium for the browser tests: $CHROMIUM_PATH, then Debian's /usr/bin/chromium (and chromium-browser),
 * then Playwright's own download if one exists. With none and apt-get available as root, install Debian's chromium;
 * otherwise stop with a one-line instruction. Never downloads a browser through Playwright.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
  '--disable-dev-shm-usage',
];

function playwrightOwn() {
  try {
    const out = execFileSync(process.execPath, ['-e', "import('playwright-core').then(m=>console.log(m.chromium.executablePath()))"], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return out && existsSync(out) ? out : null;
  } catch {
    return null;
  }
}

export function findChromium({ install = true } = {}) {
  const candidates = /** @type {string[]} */ ([process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean));
  for (const c of candidates) if (existsSync(c)) return c;
  const own = playwrightOwn();
  if (own) return own;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
  if (install && isRoot && hasApt) {
    console.log('[tests] No Chromium found: installing Debian chromium with apt-get ...');
    const r = spawnSync('sh', ['-c', 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium'], { stdio: 'inherit' });
    if (r.status === 0 && existsSync('/usr/bin/chromium')) return '/usr/bin/chromium';
  }
  console.error('No Chromium found: install one (Debian: sudo apt-get install chromium) or set CHROMIUM_PATH=/path/to/chromium.');
  process.exit(2);
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(findChromium());
