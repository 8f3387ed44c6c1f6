/**
 * no-port-works: no port of the host works. Part of connectivity. A port that did not work was not always shown
 * unusable: a silent port whose TLS cross-check did not run or finish (its TLS mode not known), a port that
 * stopped at one of mailprobe's own caps (`capReached`), and one mailprobe could not probe for an error of its own
 * (`local-error`: no free socket, say), and one whose refusing greeting came only after mailprobe's goodbye are
 * named, and the claim is then not made. Ports not probed at all (no route, aborted, backed off in batch mode) do
 * not count.
 */
import { greetingPaused } from './greeting.js';
import type { PortResult, Rule } from './rule.js';

/** The evidence of a silent port whose TLS cross-check did not run or finish (its TLS mode not known), or ''. */
function tlsModeUnknown(port: PortResult): string {
  const check = port.status === 'silent' ? port.crossCheck : undefined;
  const unknown = check?.outcome === 'not-run' || check?.outcome === 'out-of-time';
  return unknown ? `, TLS cross-check ${check.outcome}: ${check.detail}` : '';
}

/** The evidence of a port stopped at one of mailprobe's own caps, not by the server, or ''. */
function capStopped(port: PortResult): string {
  return port.capReached ? `, stopped at mailprobe's own cap ${port.capReached}` : '';
}

/** A port mailprobe itself could not probe to its end (no free socket, a local refusal), not at a cap. */
const ownError = (port: PortResult): boolean => port.status === 'local-error' && !port.capReached;

/** The evidence of such a port: mailprobe's own error, in its words, or ''. */
function ownErrorEvidence(port: PortResult): string {
  return ownError(port) ? `, mailprobe's own error: ${port.statusDetail.slice(0, 160)}` : '';
}

/**
 * A greeting that refused only after mailprobe's goodbye (lateGreeting): it may have refused the client that spoke
 * first (sendmail's greet_pause), and one that waits may be greeted.
 */
const lateRefused = (port: PortResult): boolean =>
  port.lateGreeting !== undefined && (port.status === 'rejected' || port.status === 'rate-limited');

/** "587 (192.0.2.10)": a port named in the detail. */
const named = (port: PortResult) => `${port.port} (${port.address})`;

/** Why the ports named were not shown unusable, each kind with how to learn more; '' when none is named. */
function notShown(tested: readonly PortResult[]): string {
  const unknown = tested.filter((p) => tlsModeUnknown(p) !== '').map(named);
  const capped = tested.filter((p) => p.capReached);
  const caps = [...new Set(capped.map((p) => p.capReached))];
  const own = tested.filter(ownError).map(named);
  const late = tested.filter(lateRefused).map(named);
  const reasons = [
    ...(unknown.length === 0
      ? []
      : [
          `whether ${unknown.join(', ')} speak${unknown.length === 1 ? 's' : ''} implicit TLS is not known (the TLS cross-check did not run or finish within the port deadline; raise --limit portMs)`,
        ]),
    ...(capped.length === 0
      ? []
      : [
          `${capped.map((p) => `${named(p)} at ${p.capReached}`).join(', ')} stopped at mailprobe's own cap on what the protocol allows, not at a fault of the server (raise it with ${caps.map((cap) => `--limit ${cap}=N`).join(', ')})`,
        ]),
    ...(own.length === 0
      ? []
      : [
          `${own.join(', ')} could not be probed to ${own.length === 1 ? 'its' : 'their'} end for an error of mailprobe's own on this machine, not of the server (its detail says which)`,
        ]),
    ...(late.length === 0
      ? []
      : [
          `${late.join(', ')} refused only after mailprobe's goodbye, which ${late.length === 1 ? 'it' : 'they'} may have answered (a client that waits longer for the greeting may be greeted)`,
        ]),
  ];
  return reasons.join('; and ');
}

export const noPortWorks: Rule = {
  id: 'no-port-works',
  severity: 'high',
  title: 'no port of the host works',
  reference: 'mailprobe: nothing a mail client could use (RFC 8314 §3; RFC 6409 §3)',
  check: (port, host) => {
    // Said once per host, on its first port; ports not tested from here (no route, aborted) do not count.
    // A greeting held back past mailprobe's deadline (greeting-delayed) was not tested to its end either.
    const tested = host.ports.filter(
      (p) => !p.noRouteFromHere && !p.backedOff && p.status !== 'aborted' && !greetingPaused(p),
    );
    if (port !== host.ports[0] || tested.length === 0 || host.ports.some((p) => p.status === 'open'))
      return undefined;
    // A name discovery only guessed (mail., smtp., ..., the domain itself, often just a web site): nothing
    // claimed it serves mail, so that it does not is no finding; its ports still show what they did.
    const sources = host.publishedBy ?? [];
    if (sources.length > 0 && sources.every((source) => source === 'guess')) return undefined;
    const unproven = notShown(tested);
    return {
      detail: `none of the ${tested.length} port${tested.length === 1 ? '' : 's'} probed on ${host.host} works (none is open)${
        unproven === ''
          ? ': a mail client cannot use this host from here'
          : `, but ${unproven}: that a mail client cannot use this host from here is not proven`
      }`,
      evidence: tested
        .slice(0, 8)
        .map(
          (p) =>
            `port ${p.port} ${p.address}: ${p.status}${tlsModeUnknown(p)}${capStopped(p)}${ownErrorEvidence(p)}`,
        ),
    };
  },
};
