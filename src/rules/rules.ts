/**
 * Every rule, in one ordered list: the order findings of equal severity are listed in. Each theme lives in
 * a file of its own (connectivity, STARTTLS and TLS, authentication, certificates, addresses, opt-in checks).
 */
import { addressRules } from './addresses.js';
import { authenticationRules } from './authentication.js';
import { certificateRules } from './certificate.js';
import { connectivityRules } from './connectivity.js';
import { daneRules } from './dane.js';
import { loginRules } from './login.js';
import { optInRules } from './opt-in.js';
import type { Rule } from './rule.js';
import { startTlsRules } from './starttls.js';
import { transportRules } from './transport.js';

export { expiringSoonDays } from './certificate.js';
export type { Hit, Rule } from './rule.js';

export const rules: readonly Rule[] = [
  ...connectivityRules,
  ...startTlsRules,
  ...authenticationRules,
  ...certificateRules,
  ...daneRules,
  ...addressRules,
  ...optInRules,
  ...loginRules,
  ...transportRules,
];
