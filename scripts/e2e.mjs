#!/usr/bin/env node
/** Build the app and run the Playwright tests in Debian's (or any found) Chromium. Extra args go to Playwright. */
import { spawnSync } from 'node:child_process';
import { findChromium } from './chromium.mjs';

const chromium = findChromium();
const env = { ...process.env, CHROMIUM_PATH: chromium };
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { stdio: 'inherit', env });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
if (!process.argv.includes('--no-build')) run('npx', ['vite', 'build', '--logLevel', 'warn']);
run('npx', ['playwright', 'test', '-c', 'e2e/playwright.config.ts', ...process.argv.slice(2).filter((a) => a !== '--no-build')]);
