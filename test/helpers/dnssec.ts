/**
 * A real DNSSEC rig inside a test's network namespace: NSD (authoritative, 127.0.0.3:53) serving zones signed
 * with ldns-signzone (ldnsutils), and Unbound (validating, 127.0.0.1:53) with a trust anchor (the DS of each
 * signed zone) and a stub zone pointing at NSD; Unbound also answers on 10.53.0.1, an address off loopback. An unsigned zone stays insecure (no anchor covers it); a zone
 * whose signed text is altered after signing is bogus (Unbound answers SERVFAIL).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Netns } from './netns.js';

/** Why the rig cannot run here, or undefined. Debian: nsd, unbound, ldnsutils. */
export function dnssecMissing(): string | undefined {
  const need: [string, string][] = [
    ['/usr/sbin/nsd', 'nsd'],
    ['/usr/sbin/unbound', 'unbound'],
    ['/usr/bin/ldns-signzone', 'ldnsutils'],
    ['/usr/bin/ldns-keygen', 'ldnsutils'],
    ['/usr/bin/ldns-key2ds', 'ldnsutils'],
  ];
  for (const [file, pkg] of need) if (!existsSync(file)) return `needs ${file}: apt-get install -y ${pkg}`;
  return undefined;
}

export interface Zone {
  /** The zone's name, e.g. dane.test. */
  name: string;
  /** Records in zone-file syntax, names relative to the zone or absolute. SOA and NS are added. */
  records: string[];
  /** Sign it and anchor Unbound on its DS (default true). */
  signed?: boolean;
  /** Changes the signed text after signing (a bogus zone): the signatures then fail. */
  tamper?: (signed: string) => string;
}

/** Starts NSD and Unbound in the namespace for these zones; returns the pids to stop. */
export function startDnssec(ns: Netns, dir: string, zones: Zone[]): number[] {
  const anchors: string[] = [];
  for (const zone of zones) {
    const file = join(dir, `${zone.name}.zone`);
    writeFileSync(
      file,
      [
        `$ORIGIN ${zone.name}.`,
        '$TTL 300',
        `@ IN SOA ns.${zone.name}. hostmaster.${zone.name}. 1 3600 600 86400 300`,
        `@ IN NS ns.${zone.name}.`,
        'ns IN A 127.0.0.3',
        ...zone.records,
        '',
      ].join('\n'),
    );
    if (zone.signed === false) {
      execFileSync('cp', [file, `${file}.signed`]);
      continue;
    }
    const key = execFileSync('ldns-keygen', ['-a', 'ECDSAP256SHA256', '-k', zone.name], { cwd: dir })
      .toString()
      .trim();
    execFileSync('ldns-signzone', ['-n', file, join(dir, key)], { cwd: dir });
    if (zone.tamper) writeFileSync(`${file}.signed`, zone.tamper(readFileSync(`${file}.signed`, 'utf8')));
    const ds = readFileSync(join(dir, `${key}.ds`), 'utf8')
      .trim()
      .replace(/\s+/g, ' ');
    anchors.push(ds);
  }
  writeFileSync(
    join(dir, 'nsd.conf'),
    `server:
  ip-address: 127.0.0.3
  port: 53
  username: ""
  chroot: ""
  zonesdir: "${dir}"
  pidfile: "${dir}/nsd.pid"
  xfrdfile: "${dir}/xfrd.state"
  zonelistfile: "${dir}/zone.list"
  database: ""
  logfile: "${dir}/nsd.log"
  server-count: 1
  tcp-count: 10
  verbosity: 1
remote-control:
  control-enable: no
${zones.map((zone) => `zone:\n  name: "${zone.name}"\n  zonefile: "${zone.name}.zone.signed"\n`).join('')}`,
  );
  writeFileSync(
    join(dir, 'unbound.conf'),
    `server:
  interface: 127.0.0.1
  interface: 10.53.0.1
  port: 53
  username: ""
  chroot: ""
  directory: "${dir}"
  pidfile: "${dir}/unbound.pid"
  use-syslog: no
  logfile: "${dir}/unbound.log"
  verbosity: 1
  val-log-level: 2
  num-threads: 1
  do-ip6: no
  do-not-query-localhost: no
  access-control: 127.0.0.0/8 allow
  access-control: 10.0.0.0/8 allow
  module-config: "validator iterator"
  qname-minimisation: no
  local-zone: "test." nodefault
${anchors.map((ds) => `  trust-anchor: "${ds}"\n`).join('')}remote-control:
  control-enable: no
${zones.map((zone) => `stub-zone:\n  name: "${zone.name}"\n  stub-addr: 127.0.0.3\n`).join('')}`,
  );
  // 10.53.0.1 stands for a resolver across the network (its AD bit is not to be believed).
  ns.addresses('10.53.0.1');
  ns.daemon('nsd', '-c', join(dir, 'nsd.conf'));
  ns.daemon('unbound', '-c', join(dir, 'unbound.conf'));
  const pids = ['nsd.pid', 'unbound.pid'].map((name) => readPid(join(dir, name)));
  waitForAnswer(ns, zones[0]?.name ?? 'test');
  return pids;
}

function readPid(file: string): number {
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    if (existsSync(file)) {
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (pid > 0) return pid;
    }
    execFileSync('sleep', ['0.05']);
  }
  throw new Error(`no pid file ${file}`);
}

/** Waits until Unbound answers an SOA question for the zone (NSD loaded, Unbound listening). */
function waitForAnswer(ns: Netns, zone: string): void {
  const until = Date.now() + 10_000;
  for (;;) {
    try {
      execFileSync('ip', [
        'netns',
        'exec',
        ns.name,
        process.execPath,
        '-e',
        `const r=new (require('node:dns').promises.Resolver)({timeout:300,tries:1});r.setServers(['127.0.0.1']);r.resolveSoa('${zone}').then(()=>process.exit(0),()=>process.exit(1))`,
      ]);
      return;
    } catch {
      if (Date.now() > until) throw new Error(`unbound never answered for ${zone} `);
      execFileSync('sleep', ['0.1']);
    }
  }
}
