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

/**
 * Every form the secret takes on the wire or could take in an output: as is, base64 alone (LOGIN), inside each
 * SASL message (PLAIN, XOAUTH2, OAUTHBEARER), IMAP-quoted, JSON-escaped. Never shown anywhere.
 */
export function secretForms(c: Credential): string[] {
  const quoted = c.secret.replace(/[\\"]/g, (m) => `\\${m}`);
  const json = JSON.stringify(c.secret).slice(1, -1);
  const forms = [
    c.secret,
    quoted,
    json,
    b64(c.secret),
    b64(plainMessage(c)),
    b64(xoauth2Message(c)),
    b64(oauthBearerMessage(c)),
  ];
  return [...new Set(forms)].filter((form) => form.length > 0).sort((a, b) => b.length - a.length);
}

/** A piece of the secret or of an encoding this long or longer is scrubbed wherever it stands. */
export const scrubPiece = 8;
/** A base64 word (a run of the base64 alphabet) this long or longer that is part of an encoding sent is scrubbed. */
const scrubWord = 4;
/** What stands on either side of a secret shorter than scrubPiece for it to be scrubbed: a word of its own. */
const wordEdge = /[\s"'`<>()[\]{},;:]/;

/** The base64 of each message that carries the secret on the wire (LOGIN's password, PLAIN, XOAUTH2, OAUTHBEARER). */
function encodings(c: Credential): string[] {
  const all = [b64(c.secret), b64(plainMessage(c)), b64(xoauth2Message(c)), b64(oauthBearerMessage(c))];
  return [...new Set(all)].filter((form) => form.length > 0);
}

/**
 * Replaces every piece of the secret in `text` with a placeholder, so that an echo cut short (an error keeps 80
 * characters of a line) or split over reply lines hides nothing either: any run of `scrubPiece` characters that is
 * part of the secret (as is, quoted, JSON-escaped) or of an encoding sent, and any base64 word of `scrubWord` or
 * more that is part of an encoding. A secret shorter than `scrubPiece` is replaced only where it stands as a word of
 * its own: replacing each of its occurrences inside other words would mangle the text and show the secret by where
 * the placeholders fall. Each run replaced reads `<secret>`; the runs may hide a little more than the secret.
 */
export function scrubber(c: Credential): (text: string) => string {
  const encoded = encodings(c);
  const forms = [...new Set([...secretForms(c), ...encoded])];
  const pieces = new Set<string>();
  for (const form of forms.filter((f) => f.length >= scrubPiece))
    for (let at = 0; at + scrubPiece <= form.length; at++) pieces.add(form.slice(at, at + scrubPiece));
  const short = forms.filter((f) => f.length < scrubPiece);
  return (text) => {
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
