/**
 * The roots a probe trusts, resolved once from --ca: one value holding the client context per TLS version, the
 * web client's context and the trust store, so "which roots do we trust" is decided at the top of the route
 * and passed down, never remade from PEM text at the bottom.
 */
import type tls from 'node:tls';
import { nodeTls } from '../net/dial.js';
import { TrustStore } from './chain.js';

/** Node's bundled roots (and NODE_EXTRA_CA_CERTS) plus --ca's, with what each kind of client builds from them. */
export interface Trust {
  /** --ca's PEM text, as given (batch workers receive it over IPC and build their own Trust from it). */
  readonly ca: string | undefined;
  /** The mail client's context: TLS 1.0 to 1.3 and weak ciphers, or exactly `version` (the tls-versions check). */
  client(version?: tls.SecureVersion): tls.SecureContext;
  /**
   * The context a web client has (TLS 1.2 or later, default ciphers): the published configuration files are
   * fetched as a mail client fetches them, so an untrusted HTTPS server fails there too.
   */
  web(): tls.SecureContext;
  /** The trust store the chain is judged against (issuers looked up by Name bytes). */
  readonly store: TrustStore;
  /** Builds the default client context now (Node's bundled roots parsed once), while the caller waits anyway. */
  warm(): void;
}

class Roots implements Trust {
  /**
   * Client contexts by TLS version. Building one with Node's ~140 bundled roots plus a private CA costs about
   * 50 ms of CPU, so each gets one context per process, shared by every connection.
   */
  private readonly contexts = new Map<string, tls.SecureContext>();
  private trustStore: TrustStore | undefined;
  constructor(readonly ca: string | undefined) {}

  client(version?: tls.SecureVersion): tls.SecureContext {
    return this.context(version ?? 'any', {
      minVersion: version ?? 'TLSv1',
      maxVersion: version ?? 'TLSv1.3',
      ciphers: 'DEFAULT:@SECLEVEL=0',
    });
  }

  web(): tls.SecureContext {
    return this.context('web', { minVersion: 'TLSv1.2' });
  }

  get store(): TrustStore {
    this.trustStore ??= new TrustStore(this.ca);
    return this.trustStore;
  }

  warm(): void {
    try {
      this.client();
    } catch {
      // A --ca Node cannot read fails where the context is really needed, with the probe's own error handling.
    }
  }

  private context(key: string, options: tls.SecureContextOptions): tls.SecureContext {
    let context = this.contexts.get(key);
    if (!context) {
      const ca = this.ca;
      context = nodeTls().createSecureContext(options);
      // --ca's roots join Node's bundled roots (and NODE_EXTRA_CA_CERTS). Node's own addCACert copies the roots
      // it parsed once into a new store and adds these: about 1.5 ms, where `ca: [...tls.rootCertificates, ca]`
      // re-parses ~140 PEM roots for about 45 ms of CPU that stalls every socket. Without that internal method,
      // the slow and equivalent way.
      const native = (context as unknown as { context?: { addCACert?: (pem: string) => void } }).context;
      if (ca !== undefined && typeof native?.addCACert === 'function') native.addCACert(ca);
      else if (ca !== undefined)
        context = nodeTls().createSecureContext({ ...options, ca: [...nodeTls().rootCertificates, ca] });
      this.contexts.set(key, context);
    }
    return context;
  }
}

/** One Trust per distinct --ca text, shared by every probe of the process (serve, monitor and batch reuse it). */
const trusts = new Map<string, Trust>();

/** The roots trusted with `ca` (PEM text) added to Node's; the same value for the same text, process-wide. */
export function trustFrom(ca?: string): Trust {
  const key = ca ?? '';
  let trust = trusts.get(key);
  if (!trust) {
    trust = new Roots(ca);
    trusts.set(key, trust);
  }
  return trust;
}
