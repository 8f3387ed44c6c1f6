/**
 * A real Exim (Debian's exim4-daemon-light, unpacked: it conflicts with Postfix) in the test's network
 * namespace, from its own configuration file, on 25, 465 and 587, bound to 127.0.0.1 and ::1.
 */
import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Netns } from './netns.js';
import { PackageView, readPid, stopPids, unpackedMissing, waitForListeners } from './unpacked.js';

/** Why Exim cannot run here, in one line, or undefined. */
export function eximMissing(): string | undefined {
  return unpackedMissing(
    ['usr/sbin/exim4', 'etc/exim4/exim4.conf.template'],
    'exim4-daemon-light exim4-base exim4-config',
  );
}

/** Departures from the common configuration: a weakness to diagnose, and the lines that fix it. */
export interface EximOptions {
  /** AUTH advertised before TLS too (the authenticators without server_advertise_condition). */
  authBeforeTls?: boolean;
  /** Lines added to the main section (a fix the report lists, applied). */
  mainLines?: string[];
}

/**
 * The common configuration of a Debian Exim that takes mail and submissions: the Debian template's TLS
 * settings with MAIN_TLS_ENABLE (STARTTLS advertised to every host), the submission ports of its README
 * (daemon_smtp_ports with 465 as tls_on_connect_ports), and its example PLAIN and LOGIN authenticators
 * (conf.d/auth/30_exim4-config_examples) as shipped, advertised only once TLS is up
 * (`server_advertise_condition = ${if eq{$tls_in_cipher}{}{}{*}}`, AUTH_SERVER_ALLOW_NOTLS_PASSWORDS unset).
 * No TLS version is restricted (Debian's default: GnuTLS's NORMAL priority).
 */
export function eximConfig(dir: string, tls: string, cert: string, options: EximOptions = {}): string {
  // AUTH_SERVER_ALLOW_NOTLS_PASSWORDS set: the authenticators carry no server_advertise_condition.
  const advertise = options.authBeforeTls
    ? ''
    : // biome-ignore lint/suspicious/noTemplateCurlyInString: Exim's expansion syntax, not a template
      '  server_advertise_condition = ${if eq{$tls_in_cipher}{}{}{*}}\n';
  return `primary_hostname = mail.test
spool_directory = ${dir}/spool
log_file_path = ${dir}/log/%slog
pid_file_path = ${dir}/exim.pid
keep_environment =
local_interfaces = <; 127.0.0.1 ; ::1
daemon_smtp_ports = 25 : 465 : 587
tls_on_connect_ports = 465
tls_advertise_hosts = *
tls_certificate = ${tls}/${cert}.pem
tls_privatekey = ${tls}/${cert}.key
acl_smtp_rcpt = acl_check_rcpt
${(options.mainLines ?? []).join('\n')}

begin acl
acl_check_rcpt:
  accept authenticated = *
  deny message = relay not permitted

begin authenticators
plain_server:
  driver = plaintext
  public_name = PLAIN
  server_condition = "\${if crypteq{$auth3}{\${extract{1}{:}{\${lookup{$auth2}lsearch{${dir}/passwd}{$value}{*:*}}}}}{1}{0}}"
  server_set_id = $auth2
  server_prompts = :
${advertise}
login_server:
  driver = plaintext
  public_name = LOGIN
  server_prompts = "Username:: : Password::"
  server_condition = "\${if crypteq{$auth2}{\${extract{1}{:}{\${lookup{$auth1}lsearch{${dir}/passwd}{$value}{*:*}}}}}{1}{0}}"
  server_set_id = $auth1
${advertise}`;
}

/** Exim, started as its package's init script does (`exim4 -bd`, no queue runner), stopped by its pid. */
export class Exim {
  private pid: number | undefined;
  readonly dir: string;
  private readonly view: PackageView;

  constructor(
    netns: Netns,
    dir: string,
    readonly tls: string,
    readonly cert = 'server',
    readonly options: EximOptions = {},
  ) {
    this.dir = dir;
    this.view = new PackageView(netns, dir, ['Debian-exim']);
  }

  start(): void {
    const { dir, view } = this;
    const exim = view.id('Debian-exim');
    for (const folder of ['spool', 'log']) {
      mkdirSync(join(dir, folder), { recursive: true });
      chownSync(join(dir, folder), exim, exim);
    }
    writeFileSync(join(dir, 'passwd'), '');
    mkdirSync(join(view.etc, 'exim4'), { recursive: true });
    // Debian's exim4 reads /etc/exim4/exim4.conf when it exists (CONFIGURE_FILE), before the generated one.
    writeFileSync(join(view.etc, 'exim4', 'exim4.conf'), eximConfig(dir, this.tls, this.cert, this.options));
    view.run('/usr/sbin/exim4 -bd');
    this.pid = readPid(join(dir, 'exim.pid'), join(dir, 'log', 'mainlog'));
    waitForListeners(view.netns, [25, 465, 587], join(dir, 'log', 'mainlog'));
  }

  /** Stops the master (its children end with it), also after a failed start if it wrote its pid. */
  stop(): void {
    const file = join(this.dir, 'exim.pid');
    const pid = this.pid ?? (existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : 0);
    if (pid > 0) stopPids([pid]);
    this.pid = undefined;
  }
}
