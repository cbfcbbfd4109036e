/**
 * Whole-number query parameters, checked on the raw text before the schema coerces it: the coercion
 * would take `1e300` for an integer (it is one, to a double) and `-0`, `1.0` or an empty value for
 * numbers, and a page that large becomes an offset SQLite cannot bind (a 500). Every integer query
 * parameter must declare its bounds, so none is left unbounded by accident.
 */
import type { FastifyRequest } from 'fastify';
import { badRequest } from './errors.ts';
import type { JsonSchema } from './schemas.ts';

interface Bounds {
  minimum: number;
  maximum: number;
}

/** Decimal digits, with a sign; no exponent, point or blanks. */
const INTEGER = /^-?[0-9]+$/;

export function wholeNumberCheck(querystring: JsonSchema) {
  const properties = (querystring.properties ?? {}) as Record<string, JsonSchema>;
  const bounded = new Map<string, Bounds>();
  for (const [name, property] of Object.entries(properties)) {
    if (property.type !== 'integer') continue;
    const { minimum, maximum } = property as Partial<Bounds>;
    if (minimum === undefined || maximum === undefined) {
      throw new Error(`query parameter ${name}: an integer needs a minimum and a maximum`);
    }
    bounded.set(name, { minimum, maximum });
  }
  if (bounded.size === 0) return undefined;
  return async (request: FastifyRequest) => {
    const query = request.query as Record<string, unknown>;
    for (const [name, { minimum, maximum }] of bounded) {
      const raw = query[name];
      if (raw === undefined) continue;
      if (Array.isArray(raw)) throw badRequest(name, `${name} must be given once`);
      if (typeof raw !== 'string' || !INTEGER.test(raw)) {
        throw badRequest(name, `${name} must be integer (decimal digits, from ${minimum} to ${maximum})`);
      }
      // A long digit string becomes a huge (or infinite) double: still above the maximum, never wrapped.
      const value = Number(raw);
      if (value < minimum) throw badRequest(name, `${name} must be >= ${minimum}`);
      if (value > maximum) throw badRequest(name, `${name} must be <= ${maximum}`);
    }
  };
}
