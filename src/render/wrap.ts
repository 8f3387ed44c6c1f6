/** Wrapping text to the terminal's width, for the reports whose every line must fit it. */
import { width } from './style.js';

/**
 * Wraps text at spaces to `max` columns (spaces inside a line are kept); continuation lines start with `indent`. A
 * word longer than a line (a URL) is cut, after a "/", "?", "&" or "." where one is near, so no line is ever wider
 * than `max`.
 */
export function wrap(text: string, max: number, indent = '   '): string[] {
  if (width(text) <= max) return [text];
  const pad = indent.length + 10 < max ? indent : '';
  const lead = /^\s*/.exec(text)?.[0] ?? '';
  const lines: string[] = [];
  let line = lead;
  let fresh = true;
  let gap = '';
  // Words and the runs of spaces between them, alternately.
  for (const [i, token] of text.slice(lead.length).split(/( +)/).entries()) {
    if (i % 2 === 1) {
      gap = token;
      continue;
    }
    let word = token;
    if (word === '') continue;
    if (!fresh && width(line) + width(gap) + width(word) <= max) {
      line += gap + word;
      continue;
    }
    if (!fresh) {
      lines.push(line);
      line = pad;
    }
    while (width(line) + width(word) > max && !word.includes('\u001b')) {
      const room = Math.max(1, max - width(line));
      const chars = [...word];
      let cut = room;
      for (let k = room; k > room / 2; k--)
        if ('/?&=.-_,'.includes(chars[k - 1] ?? '')) {
          cut = k;
          break;
        }
      lines.push(line + chars.slice(0, cut).join(''));
      line = pad;
      word = chars.slice(cut).join('');
    }
    line += word;
    fresh = false;
  }
  if (line.trim()) lines.push(line);
  return lines;
}
