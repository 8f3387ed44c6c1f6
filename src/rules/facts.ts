/**
 * Facts derived from the observed results, computed in one place for every reader (rules, expectations,
 * renderers): certificate days left, the password mechanisms offered, the upgrade command's name.
 */
import type { PortResult } from '../types.js';

export const dayMs = 86_400_000;

/** Days from the probe's start to the leaf certificate's expiry (fractional; negative once expired). */
export function daysLeft(port: PortResult): number | undefined {
  const validTo = port.tls?.certificate?.validTo;
  if (!validTo) return undefined;
  return (Date.parse(validTo) - Date.parse(port.startedAt)) / dayMs;
}
