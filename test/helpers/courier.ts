/**
 * A real Courier IMAP and POP3 server (Debian's courier-imap, courier-pop and courier-authdaemon, unpacked:
 * they conflict with Dovecot) in the test's network namespace, on 143, 993, 110 and 995.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Netns } from './netns.js';
import {
  familiesRoot,
  PackageView,
  readPid,
  stopPids,
  unpackedMissing,
  waitForListeners,
} from './unpacked.js';

/** Why Courier cannot run here, in one line, or undefined. */
export function courierMissing(): string | undefined {
  return unpackedMissing(
    [
      'usr/sbin/couriertcpd',
      'usr/bin/couriertls',
      'usr/lib/courier/courier/imaplogin',
      'usr/lib/courier/courier/courierpop3login',
      'usr/lib/courier/courier-authlib/authdaemond',
      'usr/bin/imapd',
      'usr/lib/courier/courier/courierpop3d',
      'usr/lib/courier-authlib/libauthpam.so.0',
      'etc/courier/imapd',
      'etc/courier/pop3d',
    ],
    'courier-imap courier-pop courier-authdaemon',
  );
}

/** The services, each started by its package's systemd unit command, with its pid file under /run. */
const services = [
  { start: '/usr/sbin/authdaemond start', pid: 'courier/authdaemon/pid' },
  { start: '/usr/sbin/imapd start', pid: 'courier/imapd.pid' },
  { start: '/usr/sbin/imapd-ssl start', pid: 'courier/imapd-ssl.pid' },
  { start: '/usr/sbin/pop3d start', pid: 'courier/pop3d.pid' },
  { start: '/usr/sbin/pop3d-ssl start', pid: 'courier/pop3d-ssl.pid' },
];

/**
 * Courier as Debian installs it: /etc/courier/{imapd,imapd-ssl,pop3d,pop3d-ssl,authdaemonrc} are the
 * package's own files, unchanged but for what its maintainer scripts would write (the certificate
 * TLS_CERTFILE, which Courier wants as key and certificate in one file, and the DH parameters
 * TLS_DHPARAMS that mkdhparams makes) and the TLS session cache's place. Everything else is the default.
 */
export class Courier {
  private pids: number[] = [];
  private readonly view: PackageView;

  constructor(
    netns: Netns,
    readonly dir: string,
    readonly tls: string,
    readonly cert = 'server',
  ) {
    this.view = new PackageView(netns, dir, ['courier']);
  }

  /** One of the package's configuration files, as shipped. */
  static shipped(file: string): string {
    return readFileSync(join(familiesRoot, 'etc', 'courier', file), 'utf8');
  }

  start(): void {
    const { dir, view, tls, cert } = this;
    const pem = join(dir, 'courier.pem');
    writeFileSync(
      pem,
      readFileSync(join(tls, `${cert}.key`)) + readFileSync(join(tls, `${cert}.pem`)).toString(),
    );
    const dh = join(dir, 'dhparams.pem');
    // mkdhparams's "high" security parameter: 3072 bits; the RFC 7919 group needs no generation.
    execFileSync('openssl', [
      'genpkey',
      '-genparam',
      '-algorithm',
      'DH',
      '-pkeyopt',
      'group:ffdhe3072',
      '-out',
      dh,
    ]);
    mkdirSync(join(view.etc, 'courier'), { recursive: true });
    for (const file of ['imapd-ssl', 'pop3d-ssl']) {
      const overrides = [
        '# mailprobe test: what the maintainer scripts would have made, in the test folder',
        `TLS_CERTFILE=${pem}`,
        `TLS_DHPARAMS=${dh}`,
        `TLS_CACHEFILE=${join(dir, `${file}.cache`)}`,
      ];
      writeFileSync(join(view.etc, 'courier', file), `${Courier.shipped(file)}\n${overrides.join('\n')}\n`);
    }
    view.run(['mkdir -p /run/courier/authdaemon', ...services.map((service) => service.start)].join('\n'));
    const log = join(dir, 'start.log');
    this.pids = services.map((service) => readPid(join(view.runDir, service.pid), log));
    waitForListeners(view.netns, [143, 993, 110, 995], log);
  }

  /** Stops each courierlogger (it ends the daemon under it), also those a failed start left. */
  stop(): void {
    const written = services
      .map((service) => join(this.view.runDir, service.pid))
      .filter((file) => existsSync(file))
      .map((file) => Number(readFileSync(file, 'utf8').trim()))
      .filter((pid) => pid > 0);
    stopPids([...new Set([...this.pids, ...written])]);
    this.pids = [];
  }
}
