/**
 * The TLS handshake, implicit or over an existing socket (STARTTLS), that observes rather than rejects:
 * certificate problems are read afterwards (facts.ts, chain.ts). The roots and contexts come from trust.ts.
 */
import type net from 'node:net';
import type tls from 'node:tls';
import { nodeTls } from '../net/dial.js';
import { isIP } from '../net/names.js';
import type { Trust } from './trust.js';

export interface TlsOptions {
  /**
   * SNI and the name the certificate is checked against, in A-label form without a trailing dot (see
   * normalizeHostName). Not sent when it is an IP address (RFC 6066 §3).
   */
  servername: string;
  /** The roots trusted (Node's bundled Mozilla store, NODE_EXTRA_CA_CERTS and --ca), resolved once. */
  trust: Trust;
  /** Offer exactly this TLS version (the tls-versions check); by default TLS 1.0 to 1.3 are offered. */
  version?: tls.SecureVersion | undefined;
}

/** Stapled OCSP responses by socket (RFC 6066 §8): asked for on every handshake, never fetched. */
const stapled = new WeakMap<tls.TLSSocket, Buffer>();

/** The OCSP response the server stapled during this socket's handshake, if it sent one. */
export function stapledOcsp(socket: tls.TLSSocket): Buffer | undefined {
  return stapled.get(socket);
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
      secureContext: options.trust.client(options.version),
      requestOCSP: true,
    };
    const socket =
      'socket' in over
        ? nodeTls().connect({ ...common, socket: over.socket })
        : nodeTls().connect({ ...common, host: over.address, port: over.port });
    // At the end of every handshake Node builds the peer's whole chain as JS objects (getPeerCertificate(true))
    // only to hand it to checkServerIdentity, which is disabled above: about 0.4 ms of CPU a handshake, a third
    // of batch mode's time. The chain is read once, afterwards, through getPeerX509Certificate (facts.ts).
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
