/**
 * Dialing: a TCP connect that settles on connect or first error (with an extra SYN when asked), and node:tls
 * loaded on first use. The TLS handshake is tls/handshake.ts; the roots it trusts, tls/trust.ts.
 */
import net from 'node:net';
import type tls from 'node:tls';

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
