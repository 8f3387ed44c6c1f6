/**
 * The secret of a login (--login) and every form it takes: as is, quoted, JSON-escaped, and the base64 of each
 * SASL message that carries it (PLAIN RFC 4616, XOAUTH2, OAUTHBEARER RFC 7628); and the scrubber that takes each of
 * them, whole or in pieces, out of every text kept (login.ts writes the messages, probe/login.ts keeps the texts).
 */

/** A login: the user name and its secret (a password, or an OAuth 2.0 bearer token, RFC 6750). */
export interface Credential {
  user: string;
  secret: string;
  kind: 'password' | 'token';
}

export const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

/** The SASL PLAIN message (RFC 4616 §2): no authorization identity, the user, the password. */
export const plainMessage = (c: Credential) => `\u0000${c.user}\u0000${c.secret}`;
/** Google's and Microsoft's XOAUTH2 initial client response. */
export const xoauth2Message = (c: Credential) => `user=${c.user}\u0001auth=Bearer ${c.secret}\u0001\u0001`;
/** OAUTHBEARER's initial client response (RFC 7628 §3.1): a GS2 header, then the bearer token. */
export const oauthBearerMessage = (c: Credential) =>
  `n,a=${saslName(c.user)},\u0001auth=Bearer ${c.secret}\u0001\u0001`;
/** A saslname (RFC 5801 §4): "," and "=" escaped as =2C and =3D. */
const saslName = (user: string) => user.replace(/=/g, '=3D').replace(/,/g, '=2C');

/** The secret as it may stand in a text: as is, IMAP-quoted, JSON-escaped. */
function plainForms(c: Credential): string[] {
  return [c.secret, c.secret.replace(/[\\"]/g, (m) => `\\${m}`), JSON.stringify(c.secret).slice(1, -1)];
}

/** Each message that carries the secret on the wire, before its base64: LOGIN's password, PLAIN, XOAUTH2, OAUTHBEARER. */
const messages = (c: Credential) => [c.secret, plainMessage(c), xoauth2Message(c), oauthBearerMessage(c)];

/**
 * Every form the secret takes on the wire or could take in an output: as is, base64 alone (LOGIN), inside each
 * SASL message (PLAIN, XOAUTH2, OAUTHBEARER), IMAP-quoted, JSON-escaped. Never shown anywhere.
 */
export function secretForms(c: Credential): string[] {
  const forms = [...plainForms(c), ...messages(c).map(b64)];
  return [...new Set(forms)].filter((form) => form.length > 0).sort((a, b) => b.length - a.length);
}

/** A piece of the secret or of an encoding this long or longer is scrubbed wherever it stands. */
export const scrubPiece = 8;
/** A base64 word (a run of the base64 alphabet) this long or longer that is part of an encoding sent is scrubbed. */
const scrubWord = 4;
/** What stands on either side of a secret shorter than scrubPiece for it to be scrubbed: a word of its own. */
const wordEdge = /[\s"'`<>()[\]{},;:]/;
/** What stands before a base64 word: anything outside the base64 alphabet. */
const base64Edge = /[^A-Za-z0-9+/=]/;
/** What may close a text after an echo cut off at its end: blanks, and the quote or bracket around it. */
const closers = new Set([' ', '\t', '\r', '\n', '"', "'", '`', ')', ']', '}', '>']);
/** What may open a text before the end of an echo cut off at its start: blanks, and the quote or bracket around it. */
const openers = new Set([' ', '\t', '\r', '\n', '"', "'", '`', '(', '[', '{', '<']);

/** The base64 of each message that carries the secret on the wire (LOGIN's password, PLAIN, XOAUTH2, OAUTHBEARER). */
function encodings(c: Credential): string[] {
  return [...new Set(messages(c).map(b64))].filter((form) => form.length > 0);
}

/**
 * The forms whose first characters, cut off at the end of a text, are scrubbed however few they are: each with the
 * first of its characters that carries a bit of the secret (`from`: 0 for the secret as is; in a SASL message's
 * base64, 6 bits a character, the one that holds the secret's first bit), what must stand before the cut echo for
 * it to be a word of its own, and the length from which the other rules hide it wherever it stands (`below`).
 */
function cutForms(c: Credential): { form: string; from: number; edge: RegExp; below: number }[] {
  const plain = plainForms(c).map((form) => ({ form, from: 0, edge: wordEdge, below: scrubPiece }));
  const encoded = messages(c).map((message) => {
    const before = Buffer.byteLength(message.slice(0, Math.max(0, message.indexOf(c.secret))), 'utf8');
    return { form: b64(message), from: Math.floor((8 * before) / 6), edge: base64Edge, below: scrubWord };
  });
  return [...plain, ...encoded].filter((cut) => cut.form.length > 0);
}

/**
 * The forms whose last characters, cut off at the start of a text or of a line (the end of an echo split over
 * reply lines), are scrubbed however few they are: each with how many of its last characters carry none of the
 * secret's bits (`after`: what follows the secret in a SASL message, and the base64 padding), and the length from
 * which the other rules hide it wherever it stands (`below`). What stands after such a tail for it to be a word of
 * its own is a word edge, for base64 too: `5` of `5.7.8` is no tail.
 */
function tailForms(c: Credential): { form: string; after: number; below: number }[] {
  const plain = plainForms(c).map((form) => ({ form, after: 0, below: scrubPiece }));
  const encoded = messages(c).map((message) => {
    const through = Buffer.byteLength(
      message.slice(0, message.lastIndexOf(c.secret) + c.secret.length),
      'utf8',
    );
    const form = b64(message);
    return { form, after: form.length - Math.ceil((8 * through) / 6), below: scrubWord };
  });
  return [...plain, ...encoded].filter((tail) => tail.form.length > 0);
}

/**
 * Where one line of a text joined from several (an SMTP reply's lines joined by blanks) stands in it, from its
 * first character to the one after its last; the scrubber takes each line's ends as a text's.
 */
export type Span = readonly [start: number, end: number];

/**
 * Where the server lines an error message quotes stand (`malformed SMTP reply line: "…"`, JSON-quoted): each is a
 * line of its own to a scrubber, so an echo's first or last characters there go as at a line's ends.
 */
export function quotedLines(message: string): Span[] {
  return [...message.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map(
    (m) => [m.index + 1, m.index + 1 + (m[1]?.length ?? 0)] as const,
  );
}

/** A scrubber's function: the text with every piece of the secret replaced; `lines`: where its lines stand. */
export type Scrub = (text: string, lines?: readonly Span[]) => string;

/**
 * Replaces every piece of the secret in `text` with a placeholder, so that an echo cut short (an error keeps 80
 * characters of a line) or split over reply lines hides nothing either: any run of `scrubPiece` characters that is
 * part of the secret (as is, quoted, JSON-escaped) or of an encoding sent, and any base64 word of `scrubWord` or
 * more that is part of an encoding. An echo cut off at the end of the text (before blanks or a closing quote at
 * most) is replaced however short it is: a word of its own there that is the first characters of a form, as soon as
 * they carry a bit of the secret (the first characters of the PLAIN, XOAUTH2 and OAUTHBEARER base64 carry only the
 * user name and are left, so a reply that ends in `A` keeps it); and so is the end of an echo cut off at the start
 * of the text (after blanks or an opening quote at most): a word of its own there that is the last characters of a
 * form, as soon as they carry a bit of the secret (base64 padding alone does not). The cost is that a text whose
 * last or first word happens to be the first or last characters of the secret or of its base64 loses that word.
 * With `lines` (where each line of a text joined from several stands in it), each line's ends count as the
 * text's, so that the joined text hides what each line on its own would: an echo split over reply lines leaves
 * none of its first or last characters in the middle of the joined reply. A secret shorter than `scrubPiece` is
 * replaced elsewhere only where it stands as a word of its own: replacing each of its occurrences inside other words
 * would mangle the text and show the secret by where the placeholders fall. Each run replaced reads `<secret>`; the
 * runs may hide a little more than the secret.
 */
export function scrubber(c: Credential): Scrub {
  const encoded = encodings(c);
  const forms = [...new Set([...secretForms(c), ...encoded])];
  const pieces = new Set<string>();
  for (const form of forms.filter((f) => f.length >= scrubPiece))
    for (let at = 0; at + scrubPiece <= form.length; at++) pieces.add(form.slice(at, at + scrubPiece));
  const short = forms.filter((f) => f.length < scrubPiece);
  const cut = cutForms(c);
  const tails = tailForms(c);
  return (text, lines = []) => {
    const hidden = new Uint8Array(text.length);
    for (let at = 0; at + scrubPiece <= text.length; at++)
      if (pieces.has(text.slice(at, at + scrubPiece))) hidden.fill(1, at, at + scrubPiece);
    for (const word of text.matchAll(/[A-Za-z0-9+/=]+/g))
      if (word[0].length >= scrubWord && encoded.some((e) => e.includes(word[0])))
        hidden.fill(1, word.index, word.index + word[0].length);
    for (const form of short)
      for (let at = text.indexOf(form); at >= 0; at = text.indexOf(form, at + 1)) {
        const end = at + form.length;
        if (
          (at === 0 || wordEdge.test(text[at - 1] ?? '')) &&
          (end === text.length || wordEdge.test(text[end] ?? ''))
        )
          hidden.fill(1, at, end);
      }
    // The ends of the text, and of each line it was joined from, as the text's own lines would have them.
    for (const [start, end] of [[0, text.length] as const, ...lines]) {
      let closed = end;
      while (closed > start && closers.has(text[closed - 1] ?? '')) closed--;
      for (const stop of new Set([end, closed]))
        for (const { form, from, edge, below } of cut)
          for (let length = Math.min(form.length, stop - start, below - 1); length > from; length--) {
            const at = stop - length;
            if (
              text.startsWith(form.slice(0, length), at) &&
              (at === start || edge.test(text[at - 1] ?? ''))
            ) {
              hidden.fill(1, at, stop);
              break;
            }
          }
      let opened = start;
      while (opened < end && openers.has(text[opened] ?? '')) opened++;
      for (const begin of new Set([start, opened]))
        for (const { form, after, below } of tails)
          for (let length = Math.min(form.length, end - begin, below - 1); length > after; length--) {
            const stop = begin + length;
            if (
              text.startsWith(form.slice(form.length - length), begin) &&
              (stop === end || wordEdge.test(text[stop] ?? ''))
            ) {
              hidden.fill(1, begin, stop);
              break;
            }
          }
    }
    let out = '';
    for (let at = 0; at < text.length; ) {
      const start = at;
      const secret = hidden[at] === 1;
      while (at < text.length && (hidden[at] === 1) === secret) at++;
      out += secret ? '<secret>' : text.slice(start, at);
    }
    return out;
  };
}
