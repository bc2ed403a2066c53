import { isIP } from 'node:net';
import { CatalogError, entryFromSpec, type ServiceSpec } from '../../protocol/catalog.js';
import type { Health } from '../../protocol/messages.js';
import { isHostName } from './address.js';
import { type CheckDefinition, checkJson, type CheckSpec, parseCheck } from './check.js';
import { describeValue, FieldError } from './field-error.js';

/**
 * A service registration as a caller writes it: the body of PUT /v1/services, one entry of the config
 * file's `services`, one saved entry in data_dir. The agent fills in defaults for what is left out.
 */
export interface Registration {
  readonly name: string;
  readonly port: number;
  /** Defaults to the name: registering the same name again updates that instance. */
  readonly id?: string;
  /** Defaults to the agent's advertised address. */
  readonly address?: string;
  readonly tags?: readonly string[];
  readonly meta?: Readonly<Record<string, string>>;
  readonly version?: string;
  readonly weight?: number;
  readonly check?: CheckDefinition;
}

/**
 * A registration validated from untrusted JSON, with every default filled in: what parseRegistration
 * returns and the agent keeps.
 * The core checks the same limits again when the entry is created; running its validator here too
 * means a bad config file is refused at start-up with the field that is wrong.
 */
export interface ParsedRegistration {
  readonly id: string;
  readonly name: string;
  readonly port: number;
  /** null: this node's advertised address, whatever it is when the instance is registered. */
  readonly address: string | null;
  readonly tags: readonly string[];
  readonly meta: Readonly<Record<string, string>>;
  readonly version: string;
  readonly weight: number;
  readonly check: CheckSpec | null;
}

export const REGISTRATION_FIELDS = ['id', 'name', 'port', 'address', 'tags', 'meta', 'version', 'weight', 'check'] as const;

/** Stand-in address for validating a registration that leaves its address to the agent. */
const PLACEHOLDER_ADDRESS = '127.0.0.1';

/** Parses a registration; throws FieldError naming the field (prefixed with `at` when given). */
export function parseRegistration(v: unknown, at = ''): ParsedRegistration {
  const path = (f: string): string => (at === '' ? f : `${at}.${f}`);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new FieldError(at === '' ? 'body' : at, `expected an object such as {"name": "web", "port": 8080}, got ${describeValue(v)}`);
  }
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!(REGISTRATION_FIELDS as readonly string[]).includes(k)) {
      throw new FieldError(path(k), `unknown field; known fields: ${REGISTRATION_FIELDS.join(', ')}`);
    }
  }
  const name = text(o['name'], path('name'));
  const port = o['port'];
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new FieldError(path('port'), `expected an integer between 1 and 65535, got ${describeValue(port)}`);
  }
  // The id defaults to the name: one instance per service per node unless the caller says otherwise,
  // and registering the same name again updates that instance rather than adding a second one.
  const id = o['id'] === undefined ? name : text(o['id'], path('id'));
  const address = o['address'] === undefined ? null : text(o['address'], path('address'));
  // Proxies connect to it: an address they cannot parse would fail far from its cause.
  if (address !== null && isIP(address) === 0 && !isHostName(address)) {
    throw new FieldError(path('address'), `expected an IP address or a host name, got ${describeValue(address)}`);
  }
  const tags = o['tags'] === undefined ? [] : stringArray(o['tags'], path('tags'));
  const meta = o['meta'] === undefined ? {} : stringMap(o['meta'], path('meta'));
  const version = o['version'] === undefined ? '' : text(o['version'], path('version'), true);
  const weight = o['weight'] === undefined ? 1 : o['weight'];
  if (typeof weight !== 'number' || !Number.isInteger(weight)) {
    throw new FieldError(path('weight'), `expected an integer, got ${describeValue(weight)}`);
  }
  const check = o['check'] === undefined || o['check'] === null ? null : parseCheck(o['check'], path('check'));
  const reg: ParsedRegistration = { id, name, port, address, tags, meta, version, weight, check };
  try {
    entryFromSpec('validation', specOf(reg, PLACEHOLDER_ADDRESS, 'passing', false), 0);
  } catch (e) {
    if (e instanceof CatalogError) throw new FieldError(path(e.field), stripField(e.message, e.field));
    throw e;
  }
  return reg;
}

/** The registration in the shape parseRegistration reads, a Registration (for the saved state and replies). */
export function registrationJson(r: ParsedRegistration): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: r.id, name: r.name, port: r.port, tags: [...r.tags], meta: sortedMeta(r.meta), version: r.version, weight: r.weight,
  };
  if (r.address !== null) out['address'] = r.address;
  if (r.check !== null) out['check'] = checkJson(r.check);
  return out;
}

export function sameRegistration(a: ParsedRegistration, b: ParsedRegistration): boolean {
  return JSON.stringify(registrationJson(a)) === JSON.stringify(registrationJson(b));
}

/** What the core is given for this registration. */
export function specOf(r: ParsedRegistration, defaultAddress: string, health: Health, draining: boolean): ServiceSpec {
  return {
    id: r.id, name: r.name, address: r.address ?? defaultAddress, port: r.port, tags: r.tags, meta: r.meta,
    version: r.version, weight: r.weight, health, draining,
  };
}

function text(v: unknown, field: string, allowEmpty = false): string {
  if (typeof v !== 'string') throw new FieldError(field, `expected a string, got ${describeValue(v)}`);
  if (!allowEmpty && v === '') throw new FieldError(field, 'must not be empty');
  return v;
}

function stringArray(v: unknown, field: string): string[] {
  if (!Array.isArray(v)) throw new FieldError(field, `expected an array of strings, got ${describeValue(v)}`);
  return v.map((item: unknown, i) => text(item, `${field}[${i}]`));
}

function stringMap(v: unknown, field: string): Record<string, string> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new FieldError(field, `expected an object of string values, got ${describeValue(v)}`);
  }
  // No prototype: a key such as "__proto__" is data here, not a way to reach Object.prototype.
  const out = Object.create(null) as Record<string, string>;
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) out[k] = text(val, `${field}.${k}`, true);
  return out;
}

/** Keys in order, so that equal registrations serialise equally whatever order they were written in. */
function sortedMeta(meta: Readonly<Record<string, string>>): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  for (const k of Object.keys(meta).sort()) out[k] = meta[k] as string;
  return out;
}

/** The core's messages start with the field name; the FieldError adds it again otherwise. */
function stripField(message: string, field: string): string {
  return message.startsWith(field + ' ') ? message.slice(field.length + 1) : message;
}
