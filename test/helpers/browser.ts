/**
 * A real browser for the HTML report's tests: Debian's chromium, driven headless by puppeteer-core (which
 * downloads no browser). What it needs, or why it cannot run; a page that records every request, console error
 * and dialog; axe-core run inside the page; a PNG's size and how much of it is not blank.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { inflateSync } from 'node:zlib';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

export const chromiumPath = process.env.MAILPROBE_CHROMIUM ?? '/usr/bin/chromium';

/** Why the browser tests cannot run here, or undefined when they can. */
export function chromiumMissing(): string | undefined {
  if (!existsSync(chromiumPath)) return `needs ${chromiumPath}: apt-get install -y chromium`;
  return undefined;
}

export function launch(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: chromiumPath,
    headless: true,
    // As root (CI containers), Chromium's sandbox cannot start.
    args: [
      ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
      '--disable-gpu',
      '--no-first-run',
      '--disable-dev-shm-usage',
    ],
  });
}

/** What a page did: every request's URL, every console error and uncaught exception, every dialog. */
export interface Watched {
  requests: string[];
  errors: string[];
  dialogs: string[];
}

export async function watchedPage(
  browser: Browser,
  options: { javascript: boolean },
): Promise<{ page: Page } & Watched> {
  const page = await browser.newPage();
  await page.setJavaScriptEnabled(options.javascript);
  const watched: Watched = { requests: [], errors: [], dialogs: [] };
  page.on('request', (request) => watched.requests.push(request.url()));
  page.on('console', (message) => {
    if (message.type() === 'error') watched.errors.push(message.text());
  });
  page.on('pageerror', (error) => watched.errors.push(String(error)));
  page.on('dialog', (dialog) => {
    watched.dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  return { page, ...watched };
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's violations of WCAG 2.x levels A and AA on the page as shown (its source evaluated, not injected). */
export async function axeViolations(page: Page): Promise<{ id: string; impact: string; nodes: string[] }[]> {
  // Evaluated through the DevTools protocol: the page's own policy allows no script, and is not loosened.
  await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run: (...args: unknown[]) => Promise<AxeResults> } }).axe;
    const results = await axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] },
    });
    return results.violations.map((v) => ({
      id: v.id,
      impact: v.impact ?? '',
      nodes: v.nodes.slice(0, 3).map((n) => n.html),
    }));
  });
}
interface AxeResults {
  violations: { id: string; impact?: string; nodes: { html: string }[] }[];
}

/**
 * A PNG's width and height, and the share of its pixels that differ from the most common one (the background):
 * 0 for a blank page. Decodes 8-bit RGB and RGBA, non-interlaced, as Chromium writes them.
 */
export function pngStats(png: Uint8Array): { width: number; height: number; busy: number } {
  const buffer = Buffer.from(png);
  if (buffer.toString('latin1', 1, 4) !== 'PNG') throw new Error('not a PNG');
  const width = buffer.readUInt32BE(16);
  const height = buffer.readUInt32BE(20);
  const [depth, colour, , , interlace] = buffer.subarray(24, 29);
  const channels = colour === 6 ? 4 : colour === 2 ? 3 : 0;
  if (depth !== 8 || channels === 0 || interlace !== 0) throw new Error('not 8-bit RGB(A), non-interlaced');
  const data: Buffer[] = [];
  for (let at = 8; at < buffer.length; ) {
    const length = buffer.readUInt32BE(at);
    if (buffer.toString('latin1', at + 4, at + 8) === 'IDAT')
      data.push(buffer.subarray(at + 8, at + 8 + length));
    at += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(data));
  const stride = width * channels;
  const rows = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)] ?? 0;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? (rows[y * stride + x - channels] ?? 0) : 0;
      const b = y > 0 ? (rows[(y - 1) * stride + x] ?? 0) : 0;
      const c = x >= channels && y > 0 ? (rows[(y - 1) * stride + x - channels] ?? 0) : 0;
      const p = a + b - c;
      const paeth =
        Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c)
          ? a
          : Math.abs(p - b) <= Math.abs(p - c)
            ? b
            : c;
      const predictor = [0, a, b, (a + b) >> 1, paeth][filter] ?? 0;
      rows[y * stride + x] = ((line[x] ?? 0) + predictor) & 0xff;
    }
  }
  const counts = new Map<number, number>();
  for (let i = 0; i < rows.length; i += channels) {
    const pixel = rows.readUIntBE(i, 3);
    counts.set(pixel, (counts.get(pixel) ?? 0) + 1);
  }
  const background = Math.max(...counts.values());
  const pixels = width * height;
  return { width, height, busy: (pixels - background) / pixels };
}
