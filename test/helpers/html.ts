/**
 * Checks an HTML report with a real HTML parser (parse5, the WHATWG algorithm browsers use): every element and
 * attribute is one the renderer writes, no attribute carries text a server sent, exactly one style and no
 * script, and no bidi, zero-width or control character is left raw anywhere in the page.
 */
import { type DefaultTreeAdapterMap, parse } from 'parse5';
import { expect } from 'vitest';
import { formScript } from '../../src/render/html.js';

type Node = DefaultTreeAdapterMap['node'];
type Element = DefaultTreeAdapterMap['element'];

/** The elements and attributes src/render/html.ts writes; anything else came from somewhere else. */
export const allowedElements = new Set([
  'html',
  'head',
  'body',
  'meta',
  'title',
  'style',
  'main',
  'section',
  'nav',
  'article',
  'div',
  'h1',
  'h2',
  'h3',
  'p',
  'ul',
  'li',
  'dl',
  'dt',
  'dd',
  'table',
  'caption',
  'thead',
  'tbody',
  'tr',
  'th',
  'td',
  'span',
  'strong',
  'code',
  'pre',
  'details',
  'summary',
  'a',
  'br',
  'form',
  'label',
  'input',
  'select',
  'option',
  'button',
]);
const allowedAttributes = new Set([
  'lang',
  'charset',
  'http-equiv',
  'content',
  'name',
  'class',
  'id',
  'href',
  'aria-label',
  'aria-labelledby',
  'scope',
  'role',
  'method',
  'action',
  'for',
  'required',
  'maxlength',
  'value',
  'autocomplete',
  'spellcheck',
  'selected',
  'type',
  'tabindex',
]);

function elements(node: Node, out: Element[] = []): Element[] {
  if ('tagName' in node) out.push(node);
  const children = 'childNodes' in node ? node.childNodes : [];
  for (const child of children) elements(child, out);
  // <template> content is a fragment of its own.
  if ('content' in node && node.content) elements(node.content as Node, out);
  return out;
}

/** The text a reader sees: every text node, in order. */
export function visibleText(html: string): string {
  const parts: string[] = [];
  const walk = (node: Node) => {
    if (node.nodeName === '#text' && 'value' in node) parts.push(node.value);
    if ('childNodes' in node) for (const child of node.childNodes) walk(child);
  };
  walk(parse(html));
  return parts.join('');
}

/**
 * Asserts the page is inert: `markers` are substrings of the server text planted in the report (none may
 * appear in an attribute, each must appear as text when `mustShow`).
 */
export function expectInertHtml(
  html: string,
  markers: string[] = [],
  options: { formValue?: string; form?: boolean } = {},
): { text: string } {
  const document = parse(html);
  const all = elements(document);
  const tags = all.map((element) => element.tagName);
  expect(tags.filter((tag) => !allowedElements.has(tag) && !(options.form && tag === 'script'))).toEqual([]);
  // Only serve's form page has a script: its own, byte for byte (allowed by its hash).
  const scripts = all.filter((element) => element.tagName === 'script');
  expect(
    scripts.map((script) => script.childNodes.map((node) => ('value' in node ? node.value : '')).join('')),
  ).toEqual(options.form ? [formScript] : []);
  expect(tags.filter((tag) => tag === 'style')).toEqual(['style']);
  const attributes = all.flatMap((element) =>
    element.attrs.map((attr) => ({ tag: element.tagName, name: attr.name, value: attr.value })),
  );
  expect(attributes.filter((attr) => !allowedAttributes.has(attr.name))).toEqual([]);
  // Links only within the page.
  expect(attributes.filter((attr) => attr.name === 'href' && !/^#[a-z0-9-]+$/.test(attr.value))).toEqual([]);
  // Every link leads somewhere on the page, and no id is given twice.
  const ids = attributes.filter((attr) => attr.name === 'id').map((attr) => attr.value);
  expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
  expect(
    attributes
      .filter((attr) => attr.name === 'href' && !ids.includes(attr.value.slice(1)))
      .map((a) => a.value),
  ).toEqual([]);
  // No attribute carries server text (the form's value is what the user typed, checked apart).
  for (const marker of markers)
    expect(
      attributes.filter(
        (attr) => attr.value.includes(marker) && !(attr.name === 'value' && attr.value === options.formValue),
      ),
    ).toEqual([]);
  const csp = all.find(
    (element) =>
      element.tagName === 'meta' &&
      element.attrs.some((attr) => attr.name === 'http-equiv' && attr.value === 'Content-Security-Policy'),
  );
  expect(csp?.attrs.find((attr) => attr.name === 'content')?.value).toMatch(
    options.form
      ? /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'; script-src 'sha256-[A-Za-z0-9+/=]+'; img-src 'none'; base-uri 'none'; form-action 'self'$/
      : /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'; img-src 'none'; base-uri 'none'; form-action 'self'$/,
  );
  // Nothing invisible or controlling is left raw: bidi, zero-width, C0/C1 controls (tabs and newlines aside).
  const raw = html.match(
    /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g,
  );
  expect(raw ?? []).toEqual([]);
  return { text: visibleText(html) };
}
