/// <reference lib="dom" />
// biome-ignore-all lint/performance/useDomNodeTextContent: innerText is the text on the screen, which is the point
/**
 * The HTML report and serve's page in a real browser: Debian's chromium, headless, driven by puppeteer-core.
 * With JavaScript off: the verdict and the table rows on the screen, no request to another origin, no console
 * error, the style allowed by the page's policy, screenshots at 1280 and 375 px wide that are the right size and
 * not blank, nothing wider than a phone's screen, nothing wider than an A4 page in print; hostile server text
 * shown as text (no element, no dialog); axe-core finds no WCAG A or AA violation, light and dark. serve: the
 * form submitted without JavaScript answers the report. Needs chromium: skipped by hand without it, a failure
 * under CI=true.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, startFixture } from '../src/demo/servers.js';
import { renderHtml } from '../src/render/html.js';
import { evaluate } from '../src/rules/evaluate.js';
import { outcome } from '../src/rules/outcome.js';
import { axeViolations, chromiumMissing, launch, pngStats, watchedPage } from './helpers/browser.js';
import { root } from './helpers/cli.js';
import { probe } from './helpers/probe.js';

const missing = chromiumMissing();
if (missing && process.env.CI) {
  describe('the HTML report in a real browser', () => {
    it('can run', () => {
      throw new Error(`CI=true and the browser tests cannot run: ${missing}`);
    });
  });
} else if (missing) {
  console.warn(`skipping the browser tests: ${missing}`);
}

const bin = join(root, 'bin/mailprobe.cjs');

const hostileBanner = `<script>alert(1)</script>"><img src=x onerror=alert(2)> \u202eevil\u200b ${'W'.repeat(3000)}`;

describe.skipIf(missing !== undefined)('the HTML report in a real browser', () => {
  let browser: Browser;
  let dir: string;
  let demoUrl: string;
  let hostileUrl: string;
  let serve: ChildProcess | undefined;
  let base = '';
  let address = '';
  const fixtures: Fixture[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mailprobe-browser-'));
    const demo = join(dir, 'demo.html');
    execFileSync(process.execPath, [bin, 'demo', '--html', demo], { stdio: 'ignore' });
    demoUrl = pathToFileURL(demo).href;
    // A server whose banner is hostile markup, bidi and zero-width characters and a 3000-character word.
    const hostile = await startFixture({
      protocol: 'smtp',
      tls: 'none',
      greeting: `220 ${hostileBanner}\r\n`,
    });
    fixtures.push(hostile);
    const verdict = evaluate({
      host: `mail.test${hostileBanner}`,
      servername: 'localhost',
      addresses: [{ address: '127.0.0.1', family: 4 }],
      resolveMs: 0,
      startedAt: new Date().toISOString(),
      durationMs: 5,
      ports: [await probe(hostile.port, 'submission')],
    });
    const hostileFile = join(dir, 'hostile.html');
    writeFileSync(hostileFile, renderHtml([verdict], outcome([verdict], 'high')));
    hostileUrl = pathToFileURL(hostileFile).href;
    // serve, from the bundled CLI, allowed one loopback address with a submissions server on 465.
    address = `127.78.${Math.floor(Math.random() * 200) + 1}.${Math.floor(Math.random() * 200) + 1}`;
    fixtures.push(await startFixture({ protocol: 'smtp', tls: 'implicit', host: address, listenPort: 465 }));
    const free = await import('node:net').then(
      (netModule) =>
        new Promise<number>((resolve) => {
          const server = netModule.createServer();
          server.listen(0, '127.0.0.1', () => {
            const { port } = server.address() as net.AddressInfo;
            server.close(() => resolve(port));
          });
        }),
    );
    serve = spawn(
      process.execPath,
      [bin, 'serve', '--listen', `127.0.0.1:${free}`, '--allow', `${address}/32`, '--min-interval', '1'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    serve.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    for (let i = 0; i < 100 && !stderr.includes('listening'); i++)
      await new Promise((r) => setTimeout(r, 50));
    if (!stderr.includes('listening')) throw new Error(`serve did not start: ${stderr}`);
    base = `http://127.0.0.1:${free}`;
    browser = await launch();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    serve?.kill('SIGTERM');
    await Promise.all(fixtures.map((fixture) => fixture.close()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the report file with JavaScript off: the verdict, the rows, nothing fetched, no error, 1280 and 375 px', async () => {
    const { page, requests, errors } = await watchedPage(browser, { javascript: false });
    await page.setViewport({ width: 1280, height: 800 });
    await page.goto(demoUrl, { waitUntil: 'load' });
    const shown = await page.$eval('body', (body) => (body as HTMLElement).innerText);
    expect(shown).toMatch(
      /Works from here: 6 of 7 ports · Safe: 4 of 7 · ✗ FAILED: 1 finding at or above high/,
    );
    const rows = await page.$$eval('table.ports tbody tr', (trs) =>
      trs.map((tr) => (tr as HTMLElement).innerText.replace(/\s+/g, ' ')),
    );
    expect(rows).toHaveLength(7);
    expect(rows.filter((row) => /✗ no/.test(row))).toHaveLength(3);
    expect(rows.some((row) => /pop3 .*✗ no .*– n\/a .*refused/.test(row))).toBe(true);
    // The style was allowed by the policy's hash (a refused style would leave the body unstyled and log an error).
    expect(await page.$eval('body', (body) => getComputedStyle(body).maxWidth)).toBe('1152px');
    const wide = pngStats(await page.screenshot({ fullPage: true }));
    expect(wide.width).toBe(1280);
    expect(wide.height).toBeGreaterThan(800);
    expect(wide.busy).toBeGreaterThan(0.02);
    await page.setViewport({ width: 375, height: 700 });
    const narrow = pngStats(await page.screenshot({ fullPage: true }));
    expect(narrow.width).toBe(375);
    expect(narrow.height).toBeGreaterThan(wide.height);
    expect(narrow.busy).toBeGreaterThan(0.02);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    expect(requests).toEqual([demoUrl]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('prints on A4 and Letter: dialogues unfolded, nothing wider than the page', async () => {
    const { page } = await watchedPage(browser, { javascript: false });
    await page.goto(demoUrl, { waitUntil: 'load' });
    await page.emulateMediaType('print');
    // A4 less 12 mm margins each side: 186 mm, 703 CSS px (Letter is wider).
    await page.setViewport({ width: 703, height: 1000 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(703);
    const folded = await page.$$eval(
      'details pre',
      (pres) => pres.filter((p) => !p.checkVisibility()).length,
    );
    expect(folded).toBe(0);
    for (const format of ['A4', 'Letter'] as const) {
      const pdf = Buffer.from(await page.pdf({ format }));
      expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    }
    await page.close();
  });

  it('hostile server text shows as text: no element, no dialog, no overflow', async () => {
    const { page, dialogs, errors, requests } = await watchedPage(browser, { javascript: true });
    await page.setViewport({ width: 375, height: 700 });
    await page.goto(hostileUrl, { waitUntil: 'load' });
    expect(await page.$$eval('script, img, svg, iframe, object, embed', (found) => found.length)).toBe(0);
    const shown = await page.$eval('body', (body) => (body as HTMLElement).innerText);
    expect(shown).toContain('<script>alert(1)</script>"><img src=x onerror=alert(2)>');
    expect(shown).toContain('<U+202E>evil<U+200B>');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
    expect(requests).toEqual([hostileUrl]);
    await page.close();
  });

  it('no WCAG A or AA violation (axe-core), in the light and the dark scheme', async () => {
    const { page, errors } = await watchedPage(browser, { javascript: true });
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: scheme }]);
      for (const url of [
        demoUrl,
        hostileUrl,
        `${base}/`,
        `${base}/report?target=${address}&module=submissions`,
      ]) {
        await page.goto(url, { waitUntil: 'load' });
        expect(await axeViolations(page), `${scheme} ${url}`).toEqual([]);
      }
      expect(await page.$eval('html', (html) => getComputedStyle(html).backgroundColor)).toBe(
        scheme === 'dark' ? 'rgb(18, 18, 18)' : 'rgb(255, 255, 255)',
      );
      // The phone layout (each port's row as two lines) too.
      await page.setViewport({ width: 375, height: 700 });
      await page.goto(demoUrl, { waitUntil: 'load' });
      expect(await axeViolations(page), `${scheme} 375 px`).toEqual([]);
      await page.setViewport({ width: 1280, height: 800 });
    }
    expect(errors).toEqual([]);
    await page.close();
  });

  it("serve's form, submitted with JavaScript off, answers the report", async () => {
    const { page, requests, errors } = await watchedPage(browser, { javascript: false });
    await page.setViewport({ width: 1280, height: 800 });
    await page.goto(`${base}/`, { waitUntil: 'load' });
    await page.type('#target', address);
    await page.focus('#module');
    await page.keyboard.type('submissions');
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('button[type=submit]')]);
    expect(new URL(page.url()).pathname).toBe('/report');
    const shown = await page.$eval('body', (body) => (body as HTMLElement).innerText);
    // The fixture's certificate names 127.0.0.1, not this address: it works, and is not safe.
    expect(shown).toMatch(/Works from here: 1 of 1 port · Safe: 0 of 1 · ✗ FAILED/);
    const rows = await page.$$eval('table.ports tbody tr', (trs) =>
      trs.map((tr) => (tr as HTMLElement).innerText.replace(/\s+/g, ' ')),
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatch(
      new RegExp(`^465 ${address.replace(/\./g, '\\.')} submissions .*✓ yes ✗ no open`),
    );
    // The form keeps what was asked.
    expect(await page.$eval('#target', (input) => (input as HTMLInputElement).value)).toBe(address);
    expect(requests.every((url) => url.startsWith(`${base}/`))).toBe(true);
    expect(requests.length).toBe(2);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("serve's form with JavaScript on: the progress line while the probe runs, allowed by the policy", async () => {
    const { page, errors } = await watchedPage(browser, { javascript: true });
    await page.setRequestInterception(true);
    let submitted = '';
    // The report's request is answered 204 No Content: the browser stays on the form, as it is while a probe runs.
    page.on('request', (request) => {
      if (new URL(request.url()).pathname !== '/report') return void request.continue();
      submitted = request.url();
      void request.respond({ status: 204, body: '' });
    });
    await page.goto(`${base}/`, { waitUntil: 'load' });
    await page.type('#target', address);
    await page.click('button[type=submit]');
    for (let i = 0; i < 100 && !submitted; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(new URL(submitted).search).toBe(`?target=${address}&module=all`);
    const state = await page.evaluate(() => [
      (document.querySelector('button') as HTMLButtonElement).disabled,
      document.getElementById('progress')?.textContent,
    ]);
    expect(state).toEqual([
      true,
      `Probing ${address}: the page comes when every port has answered or timed out.`,
    ]);
    // No error: the script ran, allowed by its hash in the policy.
    expect(errors).toEqual([]);
    await page.close();
  });
});
