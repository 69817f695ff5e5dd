// Headless Chromium and the page it loads: esbuild bundles
// browser/page.mjs (the OpenFeature web SDK, the OFREP web provider and the
// @cascade/evaluator package) from node_modules and the repository, and a
// small HTTP server on 127.0.0.1 serves it with the wasm file and a
// snapshot that the test sets.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';

import * as esbuild from 'esbuild';
import { chromium } from 'playwright-core';

import { ROOT } from './system.mjs';

const CHROMIUM = process.env.CASCADE_CHROMIUM ?? '/usr/bin/chromium';
const PAGE_DIR = path.join(ROOT, 'tests/e2e/browser');
const WASM_FILE = path.join(ROOT, 'js-package/pkg/web/cascade_js_bg.wasm');

/** Bundles the page script into one ES module. */
async function bundlePage() {
  const result = await esbuild.build({
    entryPoints: [path.join(PAGE_DIR, 'page.mjs')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'chrome120',
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0].contents;
}

/**
 * Starts the page server. Returns `{ url, setSnapshot(bytes), close() }`;
 * `/snapshot.bin` serves the bytes last passed to `setSnapshot`.
 */
export async function startPageServer() {
  const files = {
    '/': { type: 'text/html; charset=utf-8', body: await readFile(path.join(PAGE_DIR, 'index.html')) },
    '/page.js': { type: 'text/javascript; charset=utf-8', body: await bundlePage() },
    '/cascade_js_bg.wasm': { type: 'application/wasm', body: await readFile(WASM_FILE) },
    '/snapshot.bin': { type: 'application/octet-stream', body: new Uint8Array(0) },
  };
  const server = createServer((request, response) => {
    const file = files[new URL(request.url, 'http://127.0.0.1').pathname];
    if (!file) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    response.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' });
    response.end(file.body);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    setSnapshot(bytes) {
      files['/snapshot.bin'].body = bytes;
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/**
 * Launches headless Chromium with a fresh profile directory. Returns
 * `{ context, close() }`; `close()` ends the browser process and removes
 * the profile.
 */
export async function launchBrowser() {
  const profile = await mkdtemp(path.join(tmpdir(), 'cascade-e2e-chromium-'));
  // Playwright passes the profile as --user-data-dir itself.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
