/** Egress: is outbound port 25 blocked or intercepted here? What each well-known host showed. */

/** How one TCP connection attempt ended. */
export type Reach = 'connected' | 'refused' | 'filtered' | 'unreachable' | 'reset' | 'error';

export type EgressConclusion = 'blocked' | 'intercepted' | 'not-blocked' | 'inconclusive';

/** What answered on 25, when something did: the greeting, STARTTLS and the certificate. */
export interface Port25Dialogue {
  /** The probe's status for port 25 (open when the SMTP dialogue completed). */
  status: string;
  /** The greeting's text, lines joined. */
  greeting?: string;
  /** STARTTLS was advertised in answer to EHLO. */
  starttls?: boolean;
  /** SHA-256 of the certificate presented after STARTTLS. */
  certificate?: string;
  /** The certificate's subject. */
  certificateSubject?: string;
  /** The certificate is valid for the host's name (RFC 9525). */
  nameMatches?: boolean;
}

export interface EgressHost {
  /** The host name tried. */
  host: string;
  /** The address tried. */
  address?: string;
  /** Its address family. */
  family?: 4 | 6;
  /** Why the host could not be tried, when it could not. */
  error?: string;
  /** How the connection to 25 ended. */
  port25?: Reach;
  /** How the connection to the control port ended. */
  control?: Reach;
  /** What answered on 25, when it connected. */
  smtp?: Port25Dialogue;
  /**
   * What this host says: blocked (the path stops 25), open (25 reached a server that looks like the host's
   * own), intercepted (25 reached something else), unknown (nothing to conclude, with `why`).
   */
  evidence: 'blocked' | 'open' | 'intercepted' | 'unknown';
  /** The reasons for the evidence, in words. */
  why: string[];
}

export interface EgressFamily {
  /** The address family. */
  family: 4 | 6;
  /** What that family's hosts conclude. */
  conclusion: EgressConclusion;
  /** One sentence for people. */
  summary: string;
}

export interface EgressResult {
  /** The overall conclusion: intercepted or blocked in any family, else not-blocked in any, else inconclusive. */
  conclusion: EgressConclusion;
  /** One sentence for people. */
  summary: string;
  /**
   * What to do next, when the conclusion calls for it: blocked, how to send mail anyway (a submission port, or
   * the ISP's relay); DNS failed, how to get names resolved. Absent otherwise.
   */
  nextStep?: string;
  /** The control port tried beside 25. */
  controlPort: number;
  /** The conclusion per address family tried. */
  families: EgressFamily[];
  /** Each host and address tried, with its evidence. */
  hosts: EgressHost[];
}
