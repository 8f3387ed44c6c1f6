/**
 * Echoing input back: a line of a target list, an expectation, a tag name of a published document. What the
 * user or a server gave may be any length (a 100 MB line, a 256 KB tag name); a report or an error message
 * carries at most its first KiB, and says how long it was.
 */

/** Most bytes (UTF-8) of one piece of input echoed in a report or a message. */
export const echoBytes = 1024;

/** `text` itself when it is at most 1 KiB (UTF-8), else its first KiB, a mark and its length in bytes. */
export function echo(text: string, maxBytes = echoBytes): string {
  // Each character is 1 to 3 bytes in UTF-8 (4 for a surrogate pair, 2 units): the first maxBytes units suffice.
  if (text.length <= maxBytes / 3) return text;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes <= maxBytes) return text;
  let head = text.slice(0, maxBytes);
  while (Buffer.byteLength(head, 'utf8') > maxBytes) head = head.slice(0, -1);
  // Never half a surrogate pair.
  if (/[\ud800-\udbff]$/.test(head)) head = head.slice(0, -1);
  return `${head}… (${bytes} bytes in all, cut at ${maxBytes})`;
}
