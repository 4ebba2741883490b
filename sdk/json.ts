/** Inputs and outputs cross processes as JSON: check that a value survives that, and its size. */
import { ValidationError } from './errors.js';

function check(value: unknown, path: string, seen: Set<object>): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value))
        throw new ValidationError(`${path} is ${value}, which JSON cannot hold`);
      return;
    case 'undefined':
      if (path.endsWith(']'))
        throw new ValidationError(`${path} is undefined, which JSON cannot hold in an array`);
      return;
    case 'object': {
      if (value === null) return;
      if (value instanceof Date) return;
      if (seen.has(value))
        throw new ValidationError(
          `${path} refers back to itself (a cycle), which JSON cannot hold`,
        );
      seen.add(value);
      if (Array.isArray(value)) {
        value.forEach((v, i) => check(v, `${path}[${i}]`, seen));
      } else {
        const proto = Object.getPrototypeOf(value);
        if (proto !== Object.prototype && proto !== null) {
          throw new ValidationError(
            `${path} is a ${value.constructor?.name ?? 'class instance'}, not a plain object`,
          );
        }
        for (const [k, v] of Object.entries(value)) check(v, `${path}.${k}`, seen);
      }
      seen.delete(value);
      return;
    }
    default:
      throw new ValidationError(`${path} is a ${typeof value}, which is not JSON-serialisable`);
  }
}

/** The value as JSON would carry it (dates become strings); throws ValidationError naming `what`. */
export function toJson(value: unknown, what: string): unknown {
  check(value, what, new Set());
  return value === undefined ? null : JSON.parse(JSON.stringify(value));
}
