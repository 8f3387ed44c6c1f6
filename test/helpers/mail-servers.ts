/**
 * Real Postfix and Dovecot for the integration suite, each started from its own configuration directory
 * inside a network namespace the test creates, on the real port numbers, bound to 127.0.0.1 and ::1, and
 * stopped by the pids they wrote, also when a test fails.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { Netns } from './netns.js';

export interface PostfixOptions {
  /** master.cf services to run. */
  services: ('smtp' | 'submission' | 'submissions')[];
  /** Offer STARTTLS on port 25. */
  starttlsOn25: boolean;
  /** Require it there (smtpd_tls_security_level = encrypt: 530 5.7.0 to MAIL before STARTTLS). */
  requireTlsOn25?: boolean;
  /** Allow AUTH before STARTTLS on 587 (smtpd_tls_auth_only = no, TLS optional there). */
  authBeforeTls: boolean;
  /** smtpd_sasl_auth_enable left at its default (no) on 587 and 465: no AUTH, before TLS or over it. */
  noAuthOnSubmission?: boolean;
  /**
   * Port 25 behind postscreen(8) with its default greet wait (6 s): `220-` at once, the rest from smtpd after the
   * wait. postscreen_access_list is emptied, or the namespace's loopback client (mynetworks) would skip the wait.
   */
  postscreen?: boolean;
  /** 587 speaks implicit TLS (smtpd_tls_wrappermode=yes): a STARTTLS port set up as a TLS port, silent to a client. */
  implicitTlsOn587?: boolean;
  /** Lines appended to main.cf (the last instance of a parameter wins): a fix the report gives, applied. */
  mainCfLines?: string[];
}

export interface DovecotOptions {
  /** Listeners to open (the others get port 0). */
  listeners: ('imap' | 'imaps' | 'pop3' | 'pop3s')[];
  /** disable_plaintext_auth = no: LOGIN, USER and AUTH=PLAIN before TLS. */
  plaintextAuth: boolean;
  /**
   * auth_mechanisms (default plain login). Non-plaintext ones (cram-md5) stay listed before TLS even with
   * disable_plaintext_auth = yes; apop puts a timestamp in the POP3 greeting.
   */
  mechanisms?: string[];
  /** Lines appended to the configuration (a later setting overrides an earlier one): a fix, applied. */
  extraLines?: string[];
}

export interface ServerSetup {
  /**
   * Leaf certificate (with its chain) both servers present: a file base name in the TLS folder, e.g. server,
   * other, expired (make.sh) or chains/expired-int (make-chains.sh).
   */
  cert: string;
  postfix?: PostfixOptions;
  dovecot?: DovecotOptions;
}

/** What the suite needs from the machine, or why it cannot run. */
export function mailServersMissing(): string | undefined {
  const need: [string, string][] = [
    ['/usr/sbin/postfix', 'postfix'],
    ['/usr/sbin/dovecot', 'dovecot-imapd dovecot-pop3d'],
    ['/usr/lib/dovecot/imap-login', 'dovecot-imapd'],
    ['/usr/lib/dovecot/pop3-login', 'dovecot-pop3d'],
    ['/usr/bin/openssl', 'openssl'],
  ];
  for (const [file, packages] of need) {
    if (!existsSync(file))
      return `needs ${file}: apt-get install -y ${packages} (debconf: Postfix "No configuration")`;
  }
  for (const user of ['postfix', 'dovecot', 'dovenull']) {
    try {
      execFileSync('id', [user], { stdio: 'ignore' });
    } catch {
      return `needs the system user ${user} (created by the postfix and dovecot packages)`;
    }
  }
  return undefined;
}

/** Why the tests that make certificates with the openssl command cannot run, or undefined when they can. */
export function opensslMissing(): string | undefined {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'needs the openssl command (apt-get install openssl)';
  }
}

/** Makes the test CA and certificates for `name` with the project's scripts; the chain cases in DIR/chains. */
export function makeTls(dir: string, name: string, options: { chains?: boolean } = {}): void {
  execFileSync('bash', [new URL('../../fixtures/tls/make.sh', import.meta.url).pathname, dir, name]);
  if (options.chains) {
    execFileSync('bash', [
      new URL('../../fixtures/tls/make-chains.sh', import.meta.url).pathname,
      `${dir}/chains`,
      name,
    ]);
  }
}

function postfixConfig(root: string, tls: string, cert: string, options: PostfixOptions) {
  const main = `
compatibility_level = 3.6
queue_directory = ${root}/queue
data_directory = ${root}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mail.test
mydomain = test
myorigin = mail.test
mydestination =
inet_interfaces = 127.0.0.1, [::1]
inet_protocols = all
maillog_file = ${root}/postfix.log
maillog_file_prefixes = ${root}
smtpd_banner = $myhostname ESMTP
smtpd_tls_cert_file = ${tls}/${cert}.pem
smtpd_tls_key_file = ${tls}/${cert}.key
smtpd_tls_security_level = ${options.requireTlsOn25 ? 'encrypt' : options.starttlsOn25 ? 'may' : 'none'}
smtpd_tls_auth_only = ${options.authBeforeTls ? 'no' : 'yes'}
smtpd_tls_protocols = >=TLSv1.2
smtpd_tls_mandatory_protocols = >=TLSv1.2
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
${options.postscreen ? 'postscreen_access_list =\n' : ''}${(options.mainCfLines ?? []).join('\n')}
`;
  const submissionLevel = options.authBeforeTls ? 'may' : 'encrypt';
  const sasl = options.noAuthOnSubmission ? '' : ' -o smtpd_sasl_auth_enable=yes';
  const lines: Record<PostfixOptions['services'][number], string> = {
    smtp: 'smtp inet n - n - - smtpd',
    submission: `submission inet n - n - - smtpd -o smtpd_tls_security_level=${submissionLevel}${sasl}`,
    submissions: `submissions inet n - n - - smtpd -o smtpd_tls_wrappermode=yes${sasl}`,
  };
  // The internal services a running Postfix needs, chroot off (the config lives outside /var/spool/postfix).
  const internal = [
    'pickup unix n - n 60 1 pickup',
    'cleanup unix n - n - 0 cleanup',
    'qmgr unix n - n 300 1 qmgr',
    'tlsmgr unix - - n 1000? 1 tlsmgr',
    'rewrite unix - - n - - trivial-rewrite',
    'bounce unix - - n - 0 bounce',
    'defer unix - - n - 0 bounce',
    'trace unix - - n - 0 bounce',
    'verify unix - - n - 1 verify',
    'flush unix n - n 1000? 0 flush',
    'proxymap unix - - n - - proxymap',
    'smtp unix - - n - - smtp',
    'relay unix - - n - - smtp',
    'showq unix n - n - - showq',
    'error unix - - n - - error',
    'retry unix - - n - - error',
    'discard unix - - n - - discard',
    'local unix - n n - - local',
    'anvil unix - - n - 1 anvil',
    'scache unix - - n - 1 scache',
    'postlog unix-dgram n - n - 1 postlogd',
  ];
  if (options.implicitTlsOn587)
    lines.submission =
      'submission inet n - n - - smtpd -o smtpd_tls_wrappermode=yes -o smtpd_sasl_auth_enable=yes';
  // postscreen in front of port 25 (master.cf as postscreen(8) shows it): smtpd gets the connection once it passed.
  if (options.postscreen)
    lines.smtp = [
      'smtp inet n - n - 1 postscreen',
      'smtpd pass - - n - - smtpd',
      'dnsblog unix - - n - 0 dnsblog',
      'tlsproxy unix - - n - 0 tlsproxy',
    ].join('\n');
  return {
    main,
    master: `${[...options.services.map((service) => lines[service]), ...internal].join('\n')}\n`,
  };
}

function dovecotConfig(root: string, tls: string, cert: string, options: DovecotOptions): string {
  const port = (name: DovecotOptions['listeners'][number], number: number) =>
    options.listeners.includes(name) ? number : 0;
  const protocols = [
    ...(options.listeners.some((l) => l.startsWith('imap')) ? ['imap'] : []),
    ...(options.listeners.some((l) => l.startsWith('pop3')) ? ['pop3'] : []),
  ];
  return `
base_dir = ${root}/dovecot/run
state_dir = ${root}/dovecot/state
log_path = ${root}/dovecot.log
protocols = ${protocols.join(' ')}
listen = 127.0.0.1, ::1
ssl = yes
ssl_cert = <${tls}/${cert}.pem
ssl_key = <${tls}/${cert}.key
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = ${options.plaintextAuth ? 'no' : 'yes'}
auth_mechanisms = ${(options.mechanisms ?? ['plain', 'login']).join(' ')}
mail_location = maildir:${root}/dovecot/mail/%u
passdb {
  driver = static
  args = password=never-used-by-mailprobe
}
userdb {
  driver = static
  args = uid=dovecot gid=dovecot home=${root}/dovecot/home/%u
}
service imap-login {
  inet_listener imap {
    port = ${port('imap', 143)}
  }
  inet_listener imaps {
    port = ${port('imaps', 993)}
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    port = ${port('pop3', 110)}
  }
  inet_listener pop3s {
    port = ${port('pop3s', 995)}
    ssl = yes
  }
}
service auth {
  unix_listener ${root}/queue/private/auth {
    mode = 0660
    user = postfix
    group = postfix
  }
}
${(options.extraLines ?? []).join('\n')}
`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A mail host in a namespace. Connections to 127.0.0.1 and ::1 leave from 127.0.0.2 and ::2 (route `src`
 * hints on loopback): Dovecot treats a client whose address equals its own as secure and then allows
 * cleartext login and drops LOGINDISABLED, which would hide the weak configuration's findings.
 */
export class MailHost {
  readonly netns = new Netns();
  readonly pids: number[] = [];

  constructor(
    readonly root: string,
    readonly tls: string,
  ) {
    const ns = this.netns;
    ns.exec('ip', 'addr', 'add', '127.0.0.2/8', 'dev', 'lo');
    ns.exec(
      'ip',
      'route',
      'change',
      'table',
      'local',
      'local',
      '127.0.0.1',
      'dev',
      'lo',
      'proto',
      'kernel',
      'scope',
      'host',
      'src',
      '127.0.0.2',
    );
    ns.exec('ip', '-6', 'addr', 'add', '::2/128', 'dev', 'lo');
    ns.exec('ip', '-6', 'route', 'del', 'table', 'local', 'local', '::1', 'dev', 'lo');
    ns.exec(
      'ip',
      '-6',
      'route',
      'add',
      'table',
      'local',
      'local',
      '::1',
      'dev',
      'lo',
      'proto',
      'kernel',
      'src',
      '::2',
    );
  }

  /** Writes both configurations and starts the servers the setup names, recording their master pids. */
  start(setup: ServerSetup): void {
    const { root, tls } = this;
    for (const dir of ['etc', 'queue', 'data', 'dovecot']) mkdirSync(join(root, dir), { recursive: true });
    const postfixUser = Number(execFileSync('id', ['-u', 'postfix']).toString());
    chownSync(join(root, 'data'), postfixUser, userInfo().gid);
    if (setup.postfix) {
      const config = postfixConfig(root, tls, setup.cert, setup.postfix);
      writeFileSync(join(root, 'etc', 'main.cf'), config.main);
      writeFileSync(join(root, 'etc', 'master.cf'), config.master);
      try {
        this.netns.daemon('postfix', '-c', join(root, 'etc'), 'start');
      } catch {
        // Postfix reports start-up errors only to syslog, or to stderr when that is a terminal.
        throw new Error(
          `postfix did not start; see why with: script -qc "postfix -c ${join(root, 'etc')} start" /dev/null`,
        );
      }
      this.pids.push(this.readPid(join(root, 'queue', 'pid', 'master.pid')));
    }
    if (setup.dovecot) {
      // Postfix creates queue/private; Dovecot's auth socket for Postfix lives there.
      mkdirSync(join(root, 'queue', 'private'), { recursive: true });
      writeFileSync(join(root, 'dovecot.conf'), dovecotConfig(root, tls, setup.cert, setup.dovecot));
      this.netns.daemon('dovecot', '-c', join(root, 'dovecot.conf'));
      this.pids.push(this.readPid(join(root, 'dovecot', 'run', 'master.pid')));
    }
    this.waitForListeners(setup);
  }

  private readPid(file: string): number {
    const until = Date.now() + 10_000;
    while (Date.now() < until) {
      if (existsSync(file)) {
        const pid = Number(readFileSync(file, 'utf8').trim());
        if (pid > 0) return pid;
      }
      execFileSync('sleep', ['0.05']);
    }
    throw new Error(`no pid file ${file}: see ${this.root}/postfix.log and dovecot.log`);
  }

  /** Waits until every expected port listens on both addresses (the masters bind after daemonising). */
  private waitForListeners(setup: ServerSetup): void {
    const ports = [
      ...(setup.postfix?.services ?? []).map((s) => ({ smtp: 25, submission: 587, submissions: 465 })[s]),
      ...(setup.dovecot?.listeners ?? []).map((l) => ({ imap: 143, imaps: 993, pop3: 110, pop3s: 995 })[l]),
    ];
    const until = Date.now() + 10_000;
    for (;;) {
      const listening = execFileSync('ip', ['netns', 'exec', this.netns.name, 'ss', '-Hltn']).toString();
      const missing = ports.filter(
        (port) => !listening.includes(`127.0.0.1:${port} `) || !listening.includes(`[::1]:${port} `),
      );
      if (missing.length === 0) return;
      if (Date.now() > until) throw new Error(`ports ${missing.join(', ')} never listened`);
      execFileSync('sleep', ['0.05']);
    }
  }

  /** Runs the built mailprobe inside the namespace. */
  mailprobe(args: string[]) {
    return this.netns.run(process.execPath, [
      new URL('../../dist/src/cli/main.js', import.meta.url).pathname,
      ...args,
    ]);
  }

  /**
   * Stops exactly the processes it started, by pid (SIGTERM, then SIGKILL after 5 s), then deletes the
   * namespace. Returns the pids of any process still in the namespace after its masters stopped (they are
   * killed with it): a non-empty list means a server left children behind.
   */
  stop(): number[] {
    for (const pid of this.pids) if (alive(pid)) process.kill(pid, 'SIGTERM');
    const until = Date.now() + 5000;
    while (this.pids.some(alive) && Date.now() < until) execFileSync('sleep', ['0.05']);
    for (const pid of this.pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    let left: number[] = [];
    const settle = Date.now() + 3000;
    do {
      left = execFileSync('ip', ['netns', 'pids', this.netns.name])
        .toString()
        .split(/\s+/)
        .filter(Boolean)
        .map(Number);
      if (left.length > 0) execFileSync('sleep', ['0.05']);
    } while (left.length > 0 && Date.now() < settle);
    this.netns.destroy();
    return left;
  }
}
