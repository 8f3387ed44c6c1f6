/**
 * Dialing: a TCP connect that settles on connect or first error, and a TLS handshake (implicit or over an
 * existing socket) that observes rather than rejects; certificate problems are read afterwards.
 */
import net from 'node:net';
import type tls from 'node:tls';
import { isIP } from './names.js';

/**
 * node:tls, loaded on first use: a probe's first TCP connect does not wait for TLS and its crypto to load
 * (about 4 ms), which then load while the SYN is on its way.
 */
export const nodeTls = (): typeof tls => process.getBuiltinModule('node:tls');

/** How a TCP connect attempt ended when it did not connect. */
export type ConnectFailure = 'refused' | 'unreachable' | 'reset' | 'local-error';

/** Maps a socket error code to what it says about the path (errno names from connect(2)). */
export function classifyConnectError(code: string | undefined): ConnectFailure {
  switch (code) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
    case 'ENETDOWN':
    case 'EHOSTDOWN':
      return 'unreachable';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'reset';
    default:
      return 'local-error';
  }
}

/**
 * Opens a TCP connection. The promise settles on connect or on the first error; on a timeout the caller
 * (through Deadline) destroys the returned handle's socket, so no attempt outlives its deadline.
 */
export function connectTcp(
  address: string,
  port: number,
  onSocket: (socket: net.Socket) => void,
): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: address, port, noDelay: true });
    onSocket(socket);
    const onError = (error: Error) => {
      socket.off('connect', onConnect);
      reject(error);
    };
    const onConnect = () => {
      socket.off('error', onError);
      resolve(socket);
    };
    socket.once('error', onError);
    socket.once('connect', onConnect);
  });
}

/**
 * connectTcp with one extra SYN: when nothing has answered after `extraAfterMs`, a second connection attempt
 * starts on a fresh socket. The first to connect wins and the other is destroyed; a refusal (RST) from either
 * is the answer and ends both. Used only when the host's other ports show a reliable network (fast-filtered.ts).
 */
export function connectTcpWithExtraSyn(
  address: string,
  port: number,
  onSocket: (socket: net.Socket) => void,
  extrasAtMs: number[],
  mayAdd: (atMs: number) => boolean,
  onExtra: () => void,
): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let failures = 0;
    const attempts: net.Socket[] = [];
    const timers: NodeJS.Timeout[] = [];
    const stop = () => {
      settled = true;
      for (const timer of timers) clearTimeout(timer);
    };
    const attempt = () => {
      const socket = net.connect({ host: address, port, noDelay: true });
      attempts.push(socket);
      onSocket(socket);
      socket.once('connect', () => {
        if (settled) return void socket.destroy();
        stop();
        for (const other of attempts) if (other !== socket) other.destroy();
        socket.removeAllListeners('error');
        resolve(socket);
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        failures++;
        if (settled) return;
        // A refusal is an answer; any other error waits for the other attempts, if one is still going.
        if (error.code === 'ECONNREFUSED' || failures >= attempts.length) {
          stop();
          for (const other of attempts) other.destroy();
          reject(error);
        }
      });
    };
    for (const at of extrasAtMs) {
      const timer = setTimeout(() => {
        if (settled || !mayAdd(at)) return;
        onExtra();
        attempt();
      }, at);
      timer.unref();
      timers.push(timer);
    }
    attempt();
  });
}

export interface TlsOptions {
  /**
   * SNI and the name the certificate is checked against, in A-label form without a trailing dot (see
   * normalizeHostName). Not sent when it is an IP address (RFC 6066 §3).
   */
  servername: string;
  /** Extra trusted roots (PEM), added to Node's bundled Mozilla store. */
  ca?: string | undefined;
  /** Offer exactly this TLS version (the tls-versions check); by default TLS 1.0 to 1.3 are offered. */
  version?: tls.SecureVersion | undefined;
}

/**
 * Client contexts by extra CA. Building one with Node's ~140 bundled roots plus a private CA costs about
 * 50 ms of CPU, so each distinct CA gets one context per process, shared by every connection.
 */
const contexts = new Map<string, tls.SecureContext>();

/** Stapled OCSP responses by socket (RFC 6066 §8): asked for on every handshake, never fetched. */
const stapled = new WeakMap<tls.TLSSocket, Buffer>();

/** The OCSP response the server stapled during this socket's handshake, if it sent one. */
export function stapledOcsp(socket: tls.TLSSocket): Buffer | undefined {
  return stapled.get(socket);
}

/**
 * The context a web client has (TLS 1.2 or later, default ciphers) with --ca's roots added: the published
 * configuration files are fetched as a mail client fetches them, so an untrusted HTTPS server fails here too.
 */
export function webContext(ca: string | undefined): tls.SecureContext {
  return trustContext(`web\n${ca ?? ''}`, ca, { minVersion: 'TLSv1.2' });
}

/** Builds the default client context now (Node's bundled roots parsed once), while the caller waits anyway. */
export function warmTlsContext(ca: string | undefined): void {
  try {
    clientContext(ca, undefined);
  } catch {
    // A --ca Node cannot read fails where the context is really needed, with the probe's own error handling.
  }
}

function clientContext(ca: string | undefined, version: tls.SecureVersion | undefined): tls.SecureContext {
  return trustContext(`${version ?? 'any'}\n${ca ?? ''}`, ca, {
    minVersion: version ?? 'TLSv1',
    maxVersion: version ?? 'TLSv1.3',
    ciphers: 'DEFAULT:@SECLEVEL=0',
  });
}

function trustContext(
  key: string,
  ca: string | undefined,
  options: tls.SecureContextOptions,
): tls.SecureContext {
  let context = contexts.get(key);
  if (!context) {
    context = nodeTls().createSecureContext(options);
    // --ca's roots join Node's bundled roots (and NODE_EXTRA_CA_CERTS). Node's own addCACert copies the roots
    // it parsed once into a new store and adds these: about 1.5 ms, where `ca: [...tls.rootCertificates, ca]`
    // re-parses ~140 PEM roots for about 45 ms of CPU that stalls every socket. Without that internal method,
    // the slow and equivalent way.
    const native = (context as unknown as { context?: { addCACert?: (pem: string) => void } }).context;
    if (ca !== undefined && typeof native?.addCACert === 'function') native.addCACert(ca);
    else if (ca !== undefined)
      context = nodeTls().createSecureContext({ ...options, ca: [...nodeTls().rootCertificates, ca] });
    contexts.set(key, context);
  }
  return context;
}

/**
 * Starts a TLS handshake over an existing socket (STARTTLS) or a fresh one (implicit TLS). Certificate
 * problems do not abort the handshake: they are read from the session afterwards (observe first, judge after).
 * The client accepts TLS 1.0 and weak ciphers so that a legacy server is observed and reported, not missed;
 * nothing secret is ever sent over the session.
 */
export function startTls(
  over: { socket: net.Socket } | { address: string; port: number },
  options: TlsOptions,
  onSocket: (socket: tls.TLSSocket) => void,
): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const sni = isIP(options.servername) === 0 ? options.servername : undefined;
    // requestOCSP is a TLSSocket option that tls.connect passes on; @types/node lists it only there.
    const common: tls.ConnectionOptions & { requestOCSP: boolean } = {
      ...(sni === undefined ? {} : { servername: sni }),
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
      secureContext: clientContext(options.ca, options.version),
      requestOCSP: true,
    };
    const socket =
      'socket' in over
        ? nodeTls().connect({ ...common, socket: over.socket })
        : nodeTls().connect({ ...common, host: over.address, port: over.port });
    // At the end of every handshake Node builds the peer's whole chain as JS objects (getPeerCertificate(true))
    // only to hand it to checkServerIdentity, which is disabled above: about 0.4 ms of CPU a handshake, a third
    // of batch mode's time. The chain is read once, afterwards, through getPeerX509Certificate (tls-facts.ts).
    const own = socket.getPeerCertificate.bind(socket);
    socket.getPeerCertificate = ((detailed?: boolean) =>
      detailed ? {} : own(detailed)) as typeof socket.getPeerCertificate;
    onSocket(socket);
    socket.once('OCSPResponse', (response: Buffer) => stapled.set(socket, response));
    const onError = (error: Error) => {
      socket.off('secureConnect', onSecure);
      reject(error);
    };
    const onSecure = () => {
      socket.off('error', onError);
      resolve(socket);
    };
    socket.once('error', onError);
    socket.once('secureConnect', onSecure);
  });
}
