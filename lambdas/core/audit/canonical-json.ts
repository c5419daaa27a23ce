/**
 * Canonical JSON, the byte form the audit chain hashes and digests sign (ADR 0004). It follows
 * RFC 8785 (JSON Canonicalization Scheme) for the values an audit record holds: object keys
 * sorted by UTF-16 code units, no whitespace, strings escaped as ECMAScript's `JSON.stringify`
 * escapes them, numbers in ECMAScript's shortest round-trip form (`-0` written as `0`). Anything
 * JSON cannot say the same way twice (NaN, Infinity, `undefined` inside arrays, functions, class
 * instances such as Date) is refused rather than silently dropped, because an input that two
 * writers could serialize differently would make honest chains fail to verify.
 */

/** A value canonical JSON can encode. */
export type CanonicalValue =
  | null
  | boolean
  | number
  | string
  | readonly CanonicalValue[]
  | { readonly [key: string]: CanonicalValue | undefined };

/** Deeper than any audit record nests; a bound so hostile input cannot exhaust the stack. */
const MAX_DEPTH = 32;

export class CanonicalJsonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CanonicalJsonError';
  }
}

function isPlainObject(value: object): value is Record<string, unknown> {
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}

/** Where in the value the encoder is; turned into text only for an error message. */
interface Where {
  readonly parent: Where | undefined;
  readonly key: string | number;
}

function pathOf(where: Where | undefined): string {
  const keys: (string | number)[] = [];
  for (let at = where; at !== undefined; at = at.parent) keys.unshift(at.key);
  return `$${keys.map((key) => (typeof key === 'number' ? `[${key}]` : `.${key}`)).join('')}`;
}

function encode(value: unknown, depth: number, where: Where | undefined): string {
  if (depth > MAX_DEPTH)
    throw new CanonicalJsonError(`Nested deeper than ${MAX_DEPTH} levels at ${pathOf(where)}`);
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalJsonError(`Not a finite number at ${pathOf(where)}`);
      // JSON.stringify gives ECMAScript's shortest round-trip form, and "0" for -0.
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        let text = '[';
        for (let index = 0; index < value.length; index += 1) {
          const item: unknown = value[index];
          if (item === undefined) {
            throw new CanonicalJsonError(`undefined in an array at ${pathOf({ parent: where, key: index })}`);
          }
          text += `${index === 0 ? '' : ','}${encode(item, depth + 1, { parent: where, key: index })}`;
        }
        return `${text}]`;
      }
      if (!isPlainObject(value)) throw new CanonicalJsonError(`Not a plain object at ${pathOf(where)}`);
      // Default string order compares UTF-16 code units, which is what RFC 8785 prescribes.
      const keys = Object.keys(value).sort();
      let text = '{';
      let first = true;
      for (const key of keys) {
        const member = value[key];
        if (member === undefined) continue;
        text += `${first ? '' : ','}${JSON.stringify(key)}:${encode(member, depth + 1, { parent: where, key })}`;
        first = false;
      }
      return `${text}}`;
    }
    default:
      throw new CanonicalJsonError(`A ${typeof value} cannot be encoded at ${pathOf(where)}`);
  }
}

/** What `sortedCopy` answers for a value it leaves to `encode` (which then throws or copes). */
const UNSORTABLE = Symbol('unsortable');

const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/**
 * A copy of `value` with every object's keys inserted in canonical order, so that the native
 * `JSON.stringify` writes exactly the canonical text; UNSORTABLE for anything `encode` would
 * refuse, and for a key starting with a digit (`JSON.stringify` writes array-index keys first,
 * whatever the order), or `__proto__`. Verifying entries written before format 2 canonicalizes every event,
 * and this is about a third cheaper than building the text in JavaScript.
 */
function sortedCopy(value: unknown, depth: number): unknown {
  if (depth > MAX_DEPTH) return UNSORTABLE;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : UNSORTABLE;
  if (typeof value !== 'object') return UNSORTABLE;
  if (Array.isArray(value)) {
    const copy: unknown[] = [];
    for (const item of value as unknown[]) {
      const itemCopy = item === undefined ? UNSORTABLE : sortedCopy(item, depth + 1);
      if (itemCopy === UNSORTABLE) return UNSORTABLE;
      copy.push(itemCopy);
    }
    return copy;
  }
  if (!isPlainObject(value)) return UNSORTABLE;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const first = key.charCodeAt(0);
    // Assigning `__proto__` would set the prototype, not a member.
    if ((first >= DIGIT_0 && first <= DIGIT_9) || key === '__proto__') return UNSORTABLE;
    const member = value[key];
    if (member === undefined) continue;
    const memberCopy = sortedCopy(member, depth + 1);
    if (memberCopy === UNSORTABLE) return UNSORTABLE;
    copy[key] = memberCopy;
  }
  return copy;
}

/**
 * The canonical JSON text of `value`. Object members whose value is `undefined` are left out
 * (they are absent, as optional fields are); everything else that JSON cannot hold throws.
 */
export function canonicalJson(value: unknown): string {
  const sorted = sortedCopy(value, 0);
  return sorted === UNSORTABLE ? encode(value, 0, undefined) : JSON.stringify(sorted);
}
