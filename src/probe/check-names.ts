/** The opt-in checks (`--check`), kept apart from their code so the CLI can validate names cheaply. */
export const checkNames = ['injection', 'auth-required', 'tls-versions', 'tls-required'] as const;
export type CheckName = (typeof checkNames)[number];
