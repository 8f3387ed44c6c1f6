import { invisibleControls } from '../limits.js';

/**
 * Makes server text safe to print on a terminal: every C0 and C1 control character, DEL, and the Unicode
 * bidi and zero-width controls are replaced by a visible stand-in, so escape sequences (CSI, OSC 8/52,
 * 0x9B), bare CRs and right-to-left overrides can neither act on the terminal nor disguise the text.
 * JSON output keeps the exact text; only display goes through here.
 */
export function sanitize(text: string): string {
  let out = '';
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    if (code < 0x20)
      out += String.fromCodePoint(0x2400 + code); // ␀ … ␟ (␛ for ESC, ␍ for CR)
    else if (code === 0x7f) out += '␡';
    else if (code >= 0x80 && code <= 0x9f) out += `\\x${code.toString(16)}`;
    else if (code >= 0xad && invisible.test(char))
      out += `<U+${code.toString(16).toUpperCase().padStart(4, '0')}>`;
    else out += char;
  }
  return out;
}

/** Bidi marks, zero-width and other invisible characters, the BOM, the line/paragraph separators (see limits.ts). */
const invisible = new RegExp(`[${invisibleControls}]`, 'u');

/** Shortens display text to `max` characters (after sanitising), marking the cut. */
export function clip(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, Math.max(1, max - 1)).join('')}…`;
}
