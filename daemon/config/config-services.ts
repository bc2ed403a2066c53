import { Invalid, show } from './config-fields.js';
import { DAEMON_LIMITS } from '../limits.js';
import { FieldError } from '../../client/contract/field-error.js';
import { parseRegistration, type ParsedRegistration, registrationJson } from '../../client/contract/registration.js';

/**
 * The config file's `services`: an array of registrations in the shape of the PUT /v1/services
 * body. Checked in full at start-up and on SIGHUP, so a typo stops the agent (or the reload) with
 * the element and the field, instead of surfacing later as a missing instance.
 */
export function parseConfigServices(v: unknown): ParsedRegistration[] {
  if (!Array.isArray(v)) throw new Invalid(`expected an array of service registrations, got ${show(v)}`);
  if (v.length > DAEMON_LIMITS.configServicesMax) {
    throw new Invalid(`expected at most ${DAEMON_LIMITS.configServicesMax} services, got ${v.length}`);
  }
  const firstUse = new Map<string, number>();
  return v.map((item: unknown, i) => {
    let r: ParsedRegistration;
    try {
      r = parseRegistration(item);
    } catch (e) {
      if (e instanceof FieldError) throw new Invalid(`element ${i}: ${e.message}`);
      throw e;
    }
    const other = firstUse.get(r.id);
    if (other !== undefined) throw new Invalid(`element ${i}: id ${JSON.stringify(r.id)} is also used by element ${other}`);
    firstUse.set(r.id, i);
    return r;
  });
}

/** A short, change-sensitive rendering for the reload log: the count and the ids. */
export function describeConfigServices(list: readonly ParsedRegistration[]): string {
  if (list.length === 0) return '(none)';
  const digest = JSON.stringify(list.map(registrationJson));
  let h = 0;
  for (let i = 0; i < digest.length; i++) h = (Math.imul(h, 31) + digest.charCodeAt(i)) >>> 0;
  const ids = list.map((r) => r.id);
  const shown = ids.length > 8 ? `${ids.slice(0, 8).join(',')},…` : ids.join(',');
  return `${list.length} (${shown}) #${h.toString(16).padStart(8, '0')}`;
}
