/**
 * Real Postfix and Dovecot with a real user for the login check and the round trip: Dovecot with a
 * passwd-file user database (alice@mail.test), Postfix submission on 587 and 465 with SASL through Dovecot's
 * auth socket, local delivery of mail.test through Dovecot LMTP. Started inside a MailHost's namespace (the
 * same loopback set-up as the integration suite), stopped by the pids they wrote.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MailHost } from './mail-servers.js';

export const loginUser = 'alice@mail.test';
/** The password: letters that survive every encoding as themselves, so the leak scan can find each form. */
export const loginPassword = 'Tr0ub4dor-and-3-horses';

export interface LoginSetup {
  /** Postfix's deferred transports: `lmtp` accepts mail and never delivers it. */
  deferDelivery?: boolean;
  /** smtpd_client_auth_rate_limit on 587 only (anvil), with no client exempt. */
  authRateLimitOn587?: number;
}

/** Why the login suite cannot run (beyond mailServersMissing): Dovecot's LMTP server. */
export function lmtpMissing(): string | undefined {
  return existsSync('/usr/lib/dovecot/lmtp')
    ? undefined
    : 'needs /usr/lib/dovecot/lmtp: apt-get install -y dovecot-lmtpd';
}

function postfix(root: string, tls: string, setup: LoginSetup) {
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
alias_maps =
alias_database =
virtual_mailbox_domains = mail.test
virtual_transport = lmtp:unix:private/dovecot-lmtp
${setup.deferDelivery ? 'defer_transports = lmtp\n' : ''}inet_interfaces = 127.0.0.1, [::1]
inet_protocols = all
maillog_file = ${root}/postfix.log
maillog_file_prefixes = ${root}
smtpd_banner = $myhostname ESMTP
smtpd_tls_cert_file = ${tls}/server.pem
smtpd_tls_key_file = ${tls}/server.key
smtpd_tls_auth_only = yes
smtpd_tls_protocols = >=TLSv1.2
smtpd_tls_mandatory_protocols = >=TLSv1.2
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtpd_client_event_limit_exceptions =
`;
  const limit = setup.authRateLimitOn587
    ? ` -o smtpd_client_auth_rate_limit=${setup.authRateLimitOn587}`
    : '';
  const master = [
    `submission inet n - n - - smtpd -o smtpd_tls_security_level=encrypt -o smtpd_sasl_auth_enable=yes${limit}`,
    'submissions inet n - n - - smtpd -o smtpd_tls_wrappermode=yes -o smtpd_sasl_auth_enable=yes',
    'pickup unix n - n 60 1 pickup',
    'cleanup unix n - n - 0 cleanup',
    'qmgr unix n - n 1 1 qmgr',
    'tlsmgr unix - - n 1000? 1 tlsmgr',
    'rewrite unix - - n - - trivial-rewrite',
    'bounce unix - - n - 0 bounce',
    'defer unix - - n - 0 bounce',
    'trace unix - - n - 0 bounce',
    'verify unix - - n - 1 verify',
    'flush unix n - n 1000? 0 flush',
    'proxymap unix - - n - - proxymap',
    'error unix - - n - - error',
    'retry unix - - n - - error',
    'discard unix - - n - - discard',
    'lmtp unix - - n - - lmtp',
    'anvil unix - - n - 1 anvil',
    'scache unix - - n - 1 scache',
    'postlog unix-dgram n - n - 1 postlogd',
    'showq unix n - n - - showq',
  ];
  return { main, master: `${master.join('\n')}\n` };
}

function dovecot(root: string, tls: string, uid: number, gid: number): string {
  return `
base_dir = ${root}/dovecot/run
state_dir = ${root}/dovecot/state
log_path = ${root}/dovecot.log
protocols = imap pop3 lmtp
listen = 127.0.0.1, ::1
ssl = yes
ssl_cert = <${tls}/server.pem
ssl_key = <${tls}/server.key
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login
auth_failure_delay = 0
first_valid_uid = ${uid}
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${root}/users
}
userdb {
  driver = passwd-file
  args = username_format=%u ${root}/users
  default_fields = uid=${uid} gid=${gid} home=${root}/home/%u
}
service imap-login {
  inet_listener imap {
    port = 143
  }
  inet_listener imaps {
    port = 993
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 110
  }
  inet_listener pop3s {
    port = 995
    ssl = yes
  }
}
service lmtp {
  unix_listener ${root}/queue/private/dovecot-lmtp {
    mode = 0660
    user = postfix
    group = postfix
  }
}
service auth {
  unix_listener ${root}/queue/private/auth {
    mode = 0660
    user = postfix
    group = postfix
  }
}
`;
}

function waitFor(what: string, ready: () => boolean): void {
  const until = Date.now() + 10_000;
  while (!ready()) {
    if (Date.now() > until) throw new Error(`${what} never became ready`);
    execFileSync('sleep', ['0.05']);
  }
}

/** Starts Postfix (587, 465) and Dovecot (143, 993, 110, 995, LMTP) for alice@mail.test in `host`'s namespace. */
export function startLoginServers(host: MailHost, setup: LoginSetup = {}): void {
  const { root, tls } = host;
  for (const dir of ['queue', 'data', 'dovecot', 'home']) mkdirSync(join(root, dir), { recursive: true });
  const id = (flag: string, user: string) => Number(execFileSync('id', [flag, user]).toString());
  const postfixUid = id('-u', 'postfix');
  chownSync(join(root, 'data'), postfixUid, id('-g', 'root'));
  const mailUid = id('-u', 'dovecot');
  const mailGid = id('-g', 'dovecot');
  chownSync(join(root, 'home'), mailUid, mailGid);
  writeFileSync(join(root, 'users'), `${loginUser}:{PLAIN}${loginPassword}::::::\n`);
  const config = postfix(root, tls, setup);
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(root, 'etc', 'main.cf'), config.main);
  writeFileSync(join(root, 'etc', 'master.cf'), config.master);
  host.netns.daemon('postfix', '-c', join(root, 'etc'), 'start');
  const pid = (file: string) => {
    waitFor(file, () => existsSync(file) && Number(readFileSync(file, 'utf8').trim()) > 0);
    return Number(readFileSync(file, 'utf8').trim());
  };
  host.pids.push(pid(join(root, 'queue', 'pid', 'master.pid')));
  // Postfix creates queue/private; Dovecot's auth and LMTP sockets for Postfix live there.
  mkdirSync(join(root, 'queue', 'private'), { recursive: true });
  writeFileSync(join(root, 'dovecot.conf'), dovecot(root, tls, mailUid, mailGid));
  host.netns.daemon('dovecot', '-c', join(root, 'dovecot.conf'));
  host.pids.push(pid(join(root, 'dovecot', 'run', 'master.pid')));
  waitFor('the listeners', () => {
    const listening = execFileSync('ip', ['netns', 'exec', host.netns.name, 'ss', '-Hltn']).toString();
    return [587, 465, 143, 993, 110, 995].every(
      (port) => listening.includes(`127.0.0.1:${port} `) && listening.includes(`[::1]:${port} `),
    );
  });
}

/** The messages in alice's maildir (new and cur), as files. */
export function maildirCount(host: MailHost): number {
  let count = 0;
  for (const sub of ['new', 'cur']) {
    const dir = join(host.root, 'home', loginUser, 'Maildir', sub);
    if (existsSync(dir))
      count += execFileSync('ls', ['-A', dir]).toString().split('\n').filter(Boolean).length;
  }
  return count;
}
