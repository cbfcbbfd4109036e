/** Time parameters: an ISO-8601 instant or a day, normalised to the form the views store (UTC, ms). */
import { badRequest } from './errors.ts';

export function instantParam(field: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value.length === 10 ? `${value}T00:00:00Z` : value);
  if (!Number.isFinite(ms)) throw badRequest(field, `${field} is not a valid time`);
  return new Date(ms).toISOString();
}

export function dayParam(field: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(`${value}T00:00:00Z`);
  if (!Number.isFinite(ms) || new Date(ms).toISOString().slice(0, 10) !== value) {
    throw badRequest(field, `${field} is not a valid day`);
  }
  return value;
}

/** Rejects a range whose end comes before its start, naming the end. */
export function rangeCheck(
  startField: string,
  start: string | undefined,
  endField: string,
  end: string | undefined,
) {
  if (start !== undefined && end !== undefined && end < start) {
    throw badRequest(endField, `${endField} is before ${startField}`);
  }
}
