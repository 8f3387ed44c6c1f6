/**
 * XML text that always parses, for the JUnit report and the publish documents: escapes for XML 1.0 and
 * replaces what XML cannot carry at all (C0 controls but tab/LF/CR, lone surrogates, U+FFFE, U+FFFF; XML 1.0
 * §2.2) with a visible stand-in.
 */
export function escapeXml(text: string): string {
  return text
    .replace(
      /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
      (char) => `<U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}>`,
    )
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}
