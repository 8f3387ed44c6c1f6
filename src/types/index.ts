/** The observed results, field by field: what a probe saw, never what it concluded (rules/ judges them). */
export * from './discovery.js';
export * from './egress.js';
export * from './login.js';
export * from './port.js';
export * from './tls.js';
