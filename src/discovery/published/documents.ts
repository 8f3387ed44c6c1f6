/**
 * Reading the published documents strictly: Thunderbird's autoconfig format (config-v1.1.xml, the same format
 * the ISPDB serves) and Outlook's Autodiscover POX response. A document with a DTD is refused before parsing
 * (no entity of any kind is expanded but the five predefined ones and character references, nothing is ever
 * fetched); one that is not well-formed, has the wrong root or lacks a field is described, never thrown.
 * Each setting keeps the source's own words for its security, and is read as the client reading that source
 * reads it (an Autodiscover `<Encryption>` overrides `<SSL>`, and there `TLS` means STARTTLS).
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { echo } from '../../limits.js';
import { hostNameProblem } from '../../net/names.js';
import type { PublishedSecurity, PublishedSetting } from '../../types/index.js';

/** Most servers read from one document: a hostile one must not turn mailprobe into a port scanner. */
export const maxSettings = 20;

export interface ReadDocument {
  settings: PublishedSetting[];
  /** Why the document, or a part of it, cannot be used as it is. */
  problems: string[];
  /**
   * Set when the body is not this kind of document at all (a web site's catch-all page, an HTML "not found"):
   * a client takes it as no configuration here and goes on, so it is neither read nor a finding.
   */
  notADocument?: string;
}

/** Whether a body is meant as the document: it names the root element, whatever else is wrong with it. */
function claims(text: string, root: string): boolean {
  return new RegExp(`<(?:[A-Za-z][\\w.-]*:)?${root}[\\s>/]`).test(text);
}

const notA = (root: string) => ({
  settings: [],
  problems: [],
  notADocument: `the answer is not a <${root}> document (an HTML page or another document): taken as no configuration, as a client takes it`,
});

const arrays = new Set(['emailProvider', 'incomingServer', 'outgoingServer', 'Protocol', 'Account']);
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: true,
  htmlEntities: false,
  isArray: (name) => arrays.has(name),
});

type Node = Record<string, unknown>;

/** Parses after the safety checks; returns the tree or the reason it was refused. */
function parseXml(text: string): { tree: Node } | { problem: string } {
  if (text.trim() === '') return { problem: 'the document is empty' };
  if (/<!DOCTYPE|<!ENTITY/i.test(text))
    return { problem: 'the document declares a DTD or entities (refused: a client must not expand them)' };
  const valid = XMLValidator.validate(text);
  if (valid !== true)
    return {
      problem: `not well-formed XML: ${echo(valid.err.msg)} (line ${valid.err.line}, column ${valid.err.col})`,
    };
  try {
    return { tree: parser.parse(text) as Node };
  } catch (error) {
    return {
      problem: `not readable as XML: ${echo(error instanceof Error ? error.message : String(error))}`,
    };
  }
}

/**
 * The root element `name` of a document that claims to be one: its tree under that root, or what to return
 * instead (not this kind of document at all, not readable, or another root).
 */
function rootOf(document: string, name: string): { root: Node } | { answer: ReadDocument } {
  if (!claims(document, name)) return { answer: notA(name) };
  const parsed = parseXml(document);
  if ('problem' in parsed) return { answer: { settings: [], problems: [parsed.problem] } };
  if (parsed.tree[name] === undefined)
    return { answer: { settings: [], problems: [`the root element is not <${name}>`] } };
  return { root: node(parsed.tree[name]) ?? {} };
}

const text = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;

const node = (value: unknown): Node | undefined =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Node) : undefined;

const list = (value: unknown): Node[] =>
  (Array.isArray(value) ? (value as unknown[]) : value === undefined ? [] : [value]).flatMap(
    (entry): Node[] => {
      const found = node(entry);
      return found ? [found] : [];
    },
  );

function portOf(raw: string | undefined): number | undefined {
  if (raw === undefined || !/^\d{1,5}$/.test(raw.trim())) return undefined;
  const port = Number(raw.trim());
  return port >= 1 && port <= 65535 ? port : undefined;
}

/**
 * A host name as a client would use it: placeholders filled in, lower case, no trailing dot. Undefined for a
 * name no host can have, an xn-- label IDNA refuses included (`hostProblem` says why): the source's problem.
 */
function hostOf(raw: string | undefined, domain: string, email: string | undefined): string | undefined {
  const filled = filledHost(raw, domain, email);
  return filled !== undefined && hostNameProblem(filled) === undefined ? filled : undefined;
}

/** Why a published host (after its placeholders are filled in) is not a host name, for the source's problem. */
function hostProblem(raw: string, domain: string, email: string | undefined): string {
  const filled = filledHost(raw, domain, email);
  const idna = filled === undefined ? undefined : hostNameProblem(filled);
  return `not a host name ("${echo(raw)}"${idna?.startsWith('IDNA') ? `: ${idna}` : ''})`;
}

function filledHost(raw: string | undefined, domain: string, email: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const local = email?.slice(0, email.lastIndexOf('@')) ?? '';
  const filled = raw
    .trim()
    .replaceAll('%EMAILDOMAIN%', domain)
    .replaceAll('%EMAILADDRESS%', email ?? `postmaster@${domain}`)
    .replaceAll('%EMAILLOCALPART%', local)
    .toLowerCase()
    .replace(/\.$/, '');
  return /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(filled) ||
    /^\[[0-9a-f:.]+\]$|^[0-9.]+$/.test(filled)
    ? filled
    : undefined;
}

const socketTypes: Record<string, PublishedSecurity> = { SSL: 'TLS', STARTTLS: 'STARTTLS', plain: 'plain' };

/** A config-v1.1.xml document (the domain's own, or the ISPDB's). */
export function readAutoconfig(document: string, domain: string, email?: string): ReadDocument {
  const read = rootOf(document, 'clientConfig');
  if ('answer' in read) return read.answer;
  const root = read.root;
  const providers = list(root.emailProvider);
  if (providers.length === 0) return { settings: [], problems: ['<clientConfig> has no <emailProvider>'] };
  const problems: string[] = [];
  const settings: PublishedSetting[] = [];
  for (const provider of providers) {
    const servers = [
      ...list(provider.incomingServer).map((server) => ({ server, tag: 'incomingServer' as const })),
      ...list(provider.outgoingServer).map((server) => ({ server, tag: 'outgoingServer' as const })),
    ];
    for (const { server, tag } of servers) {
      const type = (text(server['@type']) ?? '').toLowerCase();
      const protocol =
        tag === 'outgoingServer'
          ? type === 'smtp'
            ? 'SMTP'
            : undefined
          : type === 'imap'
            ? 'IMAP'
            : type === 'pop3'
              ? 'POP3'
              : undefined;
      if (!protocol) {
        // Other server types (exchange, jmap, ...) are not mail ports this tool probes.
        if (type === '' || tag === 'outgoingServer')
          problems.push(`<${tag}> with type "${echo(type)}" is not usable`);
        continue;
      }
      const rawHost = text(server.hostname);
      const host = hostOf(rawHost, domain, email);
      const port = portOf(text(server.port));
      const rawSocket = text(server.socketType) ?? '';
      const security = socketTypes[rawSocket];
      const where = `<${tag} type="${echo(type)}">`;
      if (!host)
        problems.push(
          `${where}: <hostname> is ${rawHost === undefined ? 'missing' : hostProblem(rawHost, domain, email)}`,
        );
      if (port === undefined) problems.push(`${where}: <port> is missing or not a port number`);
      if (!security)
        problems.push(
          `${where}: <socketType> is ${rawSocket === '' ? 'missing or empty' : `"${echo(rawSocket)}"`}, not one of SSL, STARTTLS, plain`,
        );
      if (!host || port === undefined || !security) continue;
      settings.push({
        direction: protocol === 'SMTP' ? 'outgoing' : 'incoming',
        protocol,
        host,
        port,
        security,
        as: `socketType ${echo(rawSocket)}`,
      });
    }
  }
  if (settings.length === 0 && problems.length === 0)
    problems.push('the document names no IMAP, POP3 or SMTP server');
  return capped(settings, problems);
}

/**
 * An Autodiscover POX response, read as Outlook reads it: `<Encryption>` (None, SSL, TLS, Auto) overrides
 * `<SSL>` (on, off; absent means on); `TLS` means STARTTLS; `SSL` and `<SSL>on` mean TLS from the first byte.
 */
export function readAutodiscover(document: string, domain: string, email?: string): ReadDocument {
  const read = rootOf(document, 'Autodiscover');
  if ('answer' in read) return read.answer;
  const root = read.root;
  const response = node(root.Response);
  if (!response) return { settings: [], problems: ['<Autodiscover> has no <Response>'] };
  const error = node(response.Error);
  if (error)
    return {
      settings: [],
      problems: [
        `the response is an error: ${echo(text(error.Message) ?? text(error.ErrorCode) ?? 'no message')}`,
      ],
    };
  const problems: string[] = [];
  const settings: PublishedSetting[] = [];
  for (const account of list(response.Account)) {
    const action = text(account.Action);
    if (action && action !== 'settings') {
      const to = text(account.RedirectUrl) ?? text(account.RedirectAddr) ?? '';
      problems.push(`the response asks for a ${echo(action)}${to ? ` to ${echo(to)}` : ''} (not followed)`);
      continue;
    }
    for (const protocol of list(account.Protocol)) {
      const type = (text(protocol.Type) ?? '').toUpperCase();
      if (type !== 'IMAP' && type !== 'POP3' && type !== 'SMTP') continue; // EXCH, EXPR, WEB: not mail ports
      const rawHost = text(protocol.Server);
      const host = hostOf(rawHost, domain, email);
      const port = portOf(text(protocol.Port));
      const where = `<Protocol> ${type}`;
      if (!host)
        problems.push(
          `${where}: <Server> is ${rawHost === undefined ? 'missing' : hostProblem(rawHost, domain, email)}`,
        );
      if (port === undefined) problems.push(`${where}: <Port> is missing or not a port number`);
      const read = outlookSecurity(protocol);
      if (read.problem) problems.push(`${where}: ${read.problem}`);
      if (!host || port === undefined) continue;
      settings.push({
        direction: type === 'SMTP' ? 'outgoing' : 'incoming',
        protocol: type,
        host,
        port,
        security: read.security,
        as: read.as,
      });
    }
  }
  if (settings.length === 0 && problems.length === 0)
    problems.push('the response names no IMAP, POP3 or SMTP <Protocol>');
  return capped(settings, problems);
}

function capped(settings: PublishedSetting[], problems: string[]): ReadDocument {
  if (settings.length <= maxSettings) return { settings, problems };
  return {
    settings: settings.slice(0, maxSettings),
    problems: [
      ...problems,
      `${settings.length} servers are listed; only the first ${maxSettings} are read and checked`,
    ],
  };
}

function outlookSecurity(protocol: Node): { security: PublishedSecurity; as: string; problem?: string } {
  const encryption = text(protocol.Encryption);
  const ssl = text(protocol.SSL);
  if (encryption !== undefined) {
    const value = encryption.trim().toLowerCase();
    const as = `Encryption ${echo(encryption.trim()) || '(empty)'}`;
    if (value === 'none') return { security: 'plain', as };
    if (value === 'ssl') return { security: 'TLS', as };
    if (value === 'tls') return { security: 'STARTTLS', as };
    // Auto: Outlook picks by itself; what it picks is not published, so it is read as <SSL> would be.
    const fallback = sslSecurity(ssl);
    return {
      security: fallback.security,
      as,
      problem: `<Encryption>${echo(encryption)}</Encryption> does not say which encryption (None, SSL or TLS); read as ${fallback.as}`,
    };
  }
  const read = sslSecurity(ssl);
  return read.problem ? { security: read.security, as: read.as, problem: read.problem } : read;
}

function sslSecurity(ssl: string | undefined): { security: PublishedSecurity; as: string; problem?: string } {
  if (ssl === undefined) return { security: 'TLS', as: 'SSL absent (on)' };
  const value = ssl.trim().toLowerCase();
  if (value === 'on') return { security: 'TLS', as: 'SSL on' };
  if (value === 'off') return { security: 'plain', as: 'SSL off' };
  if (value === 'yes' || value === 'true')
    return {
      security: 'TLS',
      as: `SSL ${echo(ssl.trim())}`,
      problem: `<SSL>${echo(ssl.trim())}</SSL> is not on/off; read as on`,
    };
  if (value === 'no' || value === 'false')
    return {
      security: 'plain',
      as: `SSL ${echo(ssl.trim())}`,
      problem: `<SSL>${echo(ssl.trim())}</SSL> is not on/off; read as off`,
    };
  return {
    security: 'TLS',
    as: `SSL ${value === '' ? '(empty)' : echo(ssl.trim())}`,
    problem: `<SSL>${echo(ssl.trim())}</SSL> is neither on nor off, and there is no <Encryption>: a client has to guess (Outlook's default is on)`,
  };
}

/** The POX request Outlook sends: the address only, never a credential. */
export function autodiscoverRequest(email: string): string {
  const escaped = email.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>${escaped}</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>
`;
}
