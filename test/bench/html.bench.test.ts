/// <reference lib="dom" />
/**
 * The HTML report of the demo: its size (target < 200 KB) and the time headless chromium takes to open it, from
 * the navigation to the load event with the page laid out (median of `rounds`, a fresh page each, JavaScript off;
 * target < 1 s), beside the same for a one-line page. Also takes docs/report.png, the README's screenshot of a
 * real report (the demo at 1280 px, light scheme).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, it } from 'vitest';
import { chromiumMissing, launch } from '../helpers/browser.js';
import { bin, root, rounds } from './common.js';

it('the demo as HTML: size and time to open in headless chromium', async () => {
  const missing = chromiumMissing();
  if (missing) throw new Error(`the HTML benchmark cannot run: ${missing}`);
  const dir = mkdtempSync(join(tmpdir(), 'mailprobe-html-bench-'));
  const browser = await launch();
  try {
    const file = join(dir, 'demo.html');
    execFileSync(process.execPath, [bin, 'demo', '--html', file], { stdio: 'ignore' });
    const bytes = statSync(file).size;
    const blank = join(dir, 'blank.html');
    writeFileSync(blank, '<!DOCTYPE html><html lang="en"><title>x</title><p>x</p></html>');
    const open = async (path: string) => {
      const page = await browser.newPage();
      await page.setJavaScriptEnabled(false);
      await page.setViewport({ width: 1280, height: 900 });
      const start = process.hrtime.bigint();
      await page.goto(pathToFileURL(path).href, { waitUntil: 'load' });
      // Laid out: the page's height is known (a layout forced through the protocol).
      await page.evaluate(() => document.documentElement.scrollHeight);
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      await page.close();
      return ms;
    };
    const times: { report: number[]; blank: number[] } = { report: [], blank: [] };
    for (let i = 0; i < rounds; i++) {
      // Interleaved, the order rotated each round.
      for (const kind of i % 2 ? (['blank', 'report'] as const) : (['report', 'blank'] as const))
        times[kind].push(await open(kind === 'report' ? file : blank));
    }
    const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)] ?? 0;
    const ms = median(times.report);
    const reference = median(times.blank);
    console.log(
      [
        `the demo's HTML report (median of ${rounds} interleaved rounds, headless chromium):`,
        `  size                                         ${(bytes / 1024).toFixed(1).padStart(8)} KB  (target < 200 KB: ${bytes < 200 * 1024 ? 'met' : 'NOT met'})`,
        `  time to open (navigation to load, laid out)  ${ms.toFixed(1).padStart(8)} ms  (target < 1000 ms: ${ms < 1000 ? 'met' : 'NOT met'}); a one-line page: ${reference.toFixed(1)} ms, ratio ${(ms / reference).toFixed(2)}`,
      ].join('\n'),
    );
    // The README's screenshot: the demo's report as a reader first sees it.
    const page = await browser.newPage();
    await page.setJavaScriptEnabled(false);
    await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'light' }]);
    await page.setViewport({ width: 1280, height: 1000 });
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    const shot = join(root, 'docs/report.png');
    writeFileSync(shot, await page.screenshot({ type: 'png' }));
    console.log(`  wrote ${shot} (${(readFileSync(shot).length / 1024).toFixed(0)} KB)`);
    expect(bytes).toBeGreaterThan(0);
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
