/**
 * A real Cyrus IMAP and POP3 server (Debian's cyrus-imapd and cyrus-pop3d, unpacked: they conflict with
 * Dovecot) in the test's network namespace, on 143, 993, 110 and 995.
 */
import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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

/** Why Cyrus cannot run here, in one line, or undefined. */
export function cyrusMissing(): string | undefined {
  // The SASL plugins Cyrus offers come from the machine (cyrus-common recommends libsasl2-modules).
  for (const plugin of ['libcrammd5.so.2', 'libsasldb.so.2']) {
    if (!existsSync(join('/usr/lib/x86_64-linux-gnu/sasl2', plugin)))
      return `needs the SASL plugin ${plugin}: apt-get install -y libsasl2-modules libsasl2-modules-db`;
  }
  return unpackedMissing(
    [
      'usr/lib/cyrus/bin/master',
      'usr/lib/cyrus/bin/imapd',
      'usr/lib/cyrus/bin/pop3d',
      'usr/lib/cyrus/bin/ctl_cyrusdb',
      'etc/imapd.conf',
    ],
    'cyrus-imapd cyrus-pop3d cyrus-common',
  );
}

export interface CyrusOptions {
  /** imapd.conf `allowplaintext`: Debian ships yes, upstream's default is no. */
  allowPlaintext: boolean;
}

/** The package's /etc/imapd.conf, as shipped. */
export function shippedImapdConf(): string {
  return readFileSync(join(familiesRoot, 'etc', 'imapd.conf'), 'utf8');
}

/**
 * The package's imapd.conf with `changes` applied: each key's line replaced (Cyrus refuses a key given
 * twice), new keys appended.
 */
function imapdConf(changes: Record<string, string>): string {
  const left = new Map(Object.entries(changes));
  const lines = shippedImapdConf()
    .split('\n')
    .map((line) => {
      const key = /^([a-z_-]+):/.exec(line)?.[1];
      if (key === undefined || !left.has(key)) return line;
      const value = left.get(key);
      left.delete(key);
      return `${key}: ${value}`;
    });
  return `${[...lines, ...[...left].map(([key, value]) => `${key}: ${value}`)].join('\n')}\n`;
}

/**
 * The package's cyrus.conf services for IMAP and POP3, with imaps and pop3s uncommented (as shipped they
 * are commented out); nntp, http, sieve, lmtp and notify are left out (nothing here probes them).
 */
const cyrusConf = `START {
  recover cmd="/usr/sbin/cyrus ctl_cyrusdb -r"
}
SERVICES {
  imap cmd="imapd -U 30" listen="imap" prefork=0 maxchild=100
  imaps cmd="imapd -s -U 30" listen="imaps" prefork=0 maxchild=100
  pop3 cmd="pop3d -U 30" listen="pop3" prefork=0 maxchild=50
  pop3s cmd="pop3d -s -U 30" listen="pop3s" prefork=0 maxchild=50
}
EVENTS {
  checkpoint cmd="/usr/sbin/cyrus ctl_cyrusdb -c" period=30
}
`;

/**
 * Cyrus as Debian installs it, with TLS set up (tls_server_cert, tls_server_key: the package ships none) and
 * implicit TLS on 993 and 995; the rest of /etc/imapd.conf as shipped (sasl_pwcheck_method: auxprop, so
 * every SASL mechanism installed is offered) but for its folders and `allowplaintext`.
 */
export class Cyrus {
  private pid: number | undefined;
  private readonly view: PackageView;

  constructor(
    netns: Netns,
    readonly dir: string,
    readonly tls: string,
    readonly options: CyrusOptions,
    readonly cert = 'server',
  ) {
    this.view = new PackageView(netns, dir, ['cyrus']);
  }

  start(): void {
    const { dir, view, tls, cert } = this;
    const cyrus = view.id('cyrus');
    for (const folder of ['lib', 'spool', 'news', 'sieve']) {
      mkdirSync(join(dir, folder), { recursive: true });
      chownSync(join(dir, folder), cyrus, cyrus);
    }
    writeFileSync(
      join(view.etc, 'imapd.conf'),
      imapdConf({
        configdirectory: join(dir, 'lib'),
        'partition-default': join(dir, 'spool'),
        'partition-news': join(dir, 'news'),
        newsspool: join(dir, 'news'),
        sievedir: join(dir, 'sieve'),
        allowplaintext: this.options.allowPlaintext ? 'yes' : 'no',
        tls_server_cert: join(tls, `${cert}.pem`),
        tls_server_key: join(tls, `${cert}.key`),
        servername: 'mail.test',
      }),
    );
    writeFileSync(join(view.etc, 'cyrus.conf'), cyrusConf);
    const log = join(dir, 'start.log');
    // The systemd unit's command (cyrmaster -l 32 -C /etc/imapd.conf -M /etc/cyrus.conf), detached.
    view.run(
      'mkdir -p /run/cyrus/proc /run/cyrus/lock /run/cyrus/socket\n' +
        `chown -R ${cyrus}:${cyrus} /run/cyrus\n` +
        '/usr/sbin/cyrmaster -l 32 -C /etc/imapd.conf -M /etc/cyrus.conf -d -p /run/cyrus-master.pid',
    );
    this.pid = readPid(join(view.runDir, 'cyrus-master.pid'), log);
    waitForListeners(view.netns, [143, 993, 110, 995], log);
  }

  /** Stops the master (its children end with it), also after a failed start if it wrote its pid. */
  stop(): void {
    const file = join(this.view.runDir, 'cyrus-master.pid');
    const pid = this.pid ?? (existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : 0);
    if (pid > 0) stopPids([pid]);
    this.pid = undefined;
  }
}
