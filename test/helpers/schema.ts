/** Validates every JSON report the tests produce against the shipped JSON Schema. */
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { expect } from 'vitest';

const schema = JSON.parse(
  readFileSync(new URL('../../schema/report-1.schema.json', import.meta.url), 'utf8'),
) as object;
const ajv = new Ajv2020({ allErrors: true, strict: true });
ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
const validate = ajv.compile(schema);
const egressSchema = JSON.parse(
  readFileSync(new URL('../../schema/egress-1.schema.json', import.meta.url), 'utf8'),
) as object;
const validateEgress = ajv.compile(egressSchema);

/** Parses `mailprobe egress --json` output and asserts it matches schema/egress-1.schema.json. */
export function validEgress<T = unknown>(text: string): T {
  const report: unknown = JSON.parse(text);
  const ok = validateEgress(report);
  expect(
    ok ? [] : ajv.errorsText(validateEgress.errors, { separator: '\n' }).split('\n'),
    'egress JSON matches the schema',
  ).toEqual([]);
  return report as T;
}

/** Parses a report printed by mailprobe and asserts it matches schema/report-1.schema.json. */
export function validReport<T = unknown>(text: string): T {
  const report: unknown = JSON.parse(text);
  const ok = validate(report);
  expect(
    ok ? [] : ajv.errorsText(validate.errors, { separator: '\n' }).split('\n'),
    'JSON report matches the schema',
  ).toEqual([]);
  return report as T;
}
