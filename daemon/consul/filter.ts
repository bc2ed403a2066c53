import { DAEMON_LIMITS } from '../limits.js';

/**
 * The subset of Consul's `filter` expressions (github.com/hashicorp/go-bexpr, as documented at
 * developer.hashicorp.com/consul/api-docs/features/filtering) that swimd evaluates:
 *
 *   Selector == "value"        Selector != "value"
 *   "value" in Selector        "value" not in Selector      (a list: element; a map: key; a string: substring)
 *   Selector contains "value"  Selector not contains "value"
 *   Selector is empty          Selector is not empty
 *   E and E    E or E    not E    ( E )
 *
 * Values are double-quoted or backquoted strings, or bare integers and words. Selectors are the
 * endpoint's (see SELECTORS in routes); `Service.Meta.KEY` reaches one meta value. Anything else —
 * `matches`, an unknown selector, a stray token — is an error naming it, so a filter is never
 * half-understood and silently widened.
 */

export type FilterValue = string | number | boolean | readonly string[] | Readonly<Record<string, string>> | undefined;

export type Filter =
  | { readonly op: 'and' | 'or'; readonly left: Filter; readonly right: Filter }
  | { readonly op: 'not'; readonly inner: Filter }
  | { readonly op: '==' | '!=' | 'in' | 'not in'; readonly selector: string; readonly value: string }
  | { readonly op: 'empty' | 'not empty'; readonly selector: string };

export class FilterError extends Error {
  override readonly name = 'FilterError';
}

type Token =
  | { readonly t: 'str'; readonly v: string }
  | { readonly t: 'word'; readonly v: string }
  | { readonly t: 'op'; readonly v: '==' | '!=' | '(' | ')' };

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (out.length >= DAEMON_LIMITS.consulFilterTokensMax) throw new FilterError(`more than ${DAEMON_LIMITS.consulFilterTokensMax} tokens`);
    if (c === '(' || c === ')') {
      out.push({ t: 'op', v: c });
      i++;
    } else if (text.startsWith('==', i) || text.startsWith('!=', i)) {
      out.push({ t: 'op', v: text.slice(i, i + 2) as '==' | '!=' });
      i += 2;
    } else if (c === '"' || c === '`') {
      let v = '';
      let j = i + 1;
      for (; j < text.length && text[j] !== c; j++) {
        if (c === '"' && text[j] === '\\' && j + 1 < text.length) j++;
        v += text[j];
      }
      if (j >= text.length) throw new FilterError(`unterminated string starting at character ${i + 1}`);
      out.push({ t: 'str', v });
      i = j + 1;
    } else {
      const m = /^[A-Za-z0-9_.\-:/]+/.exec(text.slice(i));
      if (m === null) throw new FilterError(`unexpected character ${JSON.stringify(c)} at character ${i + 1}`);
      out.push({ t: 'word', v: m[0] });
      i += m[0].length;
    }
  }
  return out;
}

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'is', 'empty', 'contains', 'matches']);

/** Parses `text`; `selectors` says which selector names exist (a Meta prefix allows any key under it). */
export function parseFilter(text: string, isSelector: (s: string) => boolean): Filter {
  if (text.length > DAEMON_LIMITS.consulFilterCharsMax) throw new FilterError(`longer than ${DAEMON_LIMITS.consulFilterCharsMax} characters`);
  const toks = tokenize(text);
  let pos = 0;
  const peekWord = (w: string, at = pos): boolean => toks[at]?.t === 'word' && toks[at]!.v === w;
  const describe = (t: Token | undefined): string => (t === undefined ? 'the end' : JSON.stringify(t.v));

  const selector = (): string => {
    const t = toks[pos];
    if (t?.t !== 'word' || KEYWORDS.has(t.v)) throw new FilterError(`expected a selector, got ${describe(t)}`);
    if (!isSelector(t.v)) throw new FilterError(`selector ${JSON.stringify(t.v)} is not supported here`);
    pos++;
    return t.v;
  };
  const value = (): string => {
    const t = toks[pos];
    if (t === undefined || t.t === 'op' || (t.t === 'word' && KEYWORDS.has(t.v))) throw new FilterError(`expected a value, got ${describe(t)}`);
    pos++;
    return t.v;
  };

  const primary = (): Filter => {
    const t = toks[pos];
    if (t?.t === 'op' && t.v === '(') {
      pos++;
      const inner = or();
      if (!(toks[pos]?.t === 'op' && toks[pos]!.v === ')')) throw new FilterError(`expected ")", got ${describe(toks[pos])}`);
      pos++;
      return inner;
    }
    if (peekWord('not')) {
      pos++;
      return { op: 'not', inner: primary() };
    }
    // "value" [not] in Selector
    const isValueFirst = t?.t === 'str' || (t?.t === 'word' && (peekWord('in', pos + 1) || (peekWord('not', pos + 1) && peekWord('in', pos + 2))));
    if (isValueFirst) {
      const v = value();
      let op: 'in' | 'not in' = 'in';
      if (peekWord('not')) {
        pos++;
        op = 'not in';
      }
      if (!peekWord('in')) throw new FilterError(`expected "in" after the value ${JSON.stringify(v)}, got ${describe(toks[pos])}`);
      pos++;
      return { op, selector: selector(), value: v };
    }
    const s = selector();
    const next = toks[pos];
    if (next?.t === 'op' && (next.v === '==' || next.v === '!=')) {
      pos++;
      return { op: next.v, selector: s, value: value() };
    }
    if (peekWord('is')) {
      pos++;
      const negated = peekWord('not');
      if (negated) pos++;
      if (!peekWord('empty')) throw new FilterError(`expected "empty" after "is", got ${describe(toks[pos])}`);
      pos++;
      return { op: negated ? 'not empty' : 'empty', selector: s };
    }
    const negated = peekWord('not');
    if (peekWord('contains', negated ? pos + 1 : pos)) {
      pos += negated ? 2 : 1;
      return { op: negated ? 'not in' : 'in', selector: s, value: value() };
    }
    if (peekWord('matches') || (negated && peekWord('matches', pos + 1))) throw new FilterError('the "matches" operator is not supported');
    throw new FilterError(`expected ==, !=, is [not] empty or [not] contains after ${JSON.stringify(s)}, got ${describe(next)}`);
  };
  const and = (): Filter => {
    let left = primary();
    while (peekWord('and')) {
      pos++;
      left = { op: 'and', left, right: primary() };
    }
    return left;
  };
  const or = (): Filter => {
    let left = and();
    while (peekWord('or')) {
      pos++;
      left = { op: 'or', left, right: and() };
    }
    return left;
  };
  if (toks.length === 0) throw new FilterError('empty expression');
  const f = or();
  if (pos < toks.length) throw new FilterError(`unexpected ${describe(toks[pos])} at token ${pos + 1}`);
  return f;
}

/** Evaluates `f` with `get` resolving a selector to its value for one candidate. */
export function evaluate(f: Filter, get: (selector: string) => FilterValue): boolean {
  switch (f.op) {
    case 'and': return evaluate(f.left, get) && evaluate(f.right, get);
    case 'or': return evaluate(f.left, get) || evaluate(f.right, get);
    case 'not': return !evaluate(f.inner, get);
    case '==': return equals(get(f.selector), f.value);
    case '!=': return !equals(get(f.selector), f.value);
    case 'in': return contains(get(f.selector), f.value);
    case 'not in': return !contains(get(f.selector), f.value);
    case 'empty': return isEmpty(get(f.selector));
    case 'not empty': return !isEmpty(get(f.selector));
  }
}

function equals(v: FilterValue, want: string): boolean {
  if (typeof v === 'string') return v === want;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v) === want;
  return false;
}

function contains(v: FilterValue, want: string): boolean {
  if (typeof v === 'string') return v.includes(want);
  if (Array.isArray(v)) return v.includes(want);
  if (typeof v === 'object' && v !== null) return Object.hasOwn(v, want);
  return false;
}

function isEmpty(v: FilterValue): boolean {
  if (v === undefined || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object' && v !== null) return Object.keys(v).length === 0;
  return false;
}
