export * from './address.js';
export * from './effects.js';
export * from './limits.js';
export * from './messages.js';
export * from './profiles.js';
export * from './rng.js';
export * from './node.js';
export * from './core.js';
export { CatalogError, type ServiceSpec } from './catalog.js';
