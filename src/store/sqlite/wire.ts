import type { AppendOutcome } from '../groupCommit.ts';
import { WrongExpectedVersionError } from '../port.ts';

/**
 * Append outcomes as they cross between the writer thread and the store: errors travel as plain data
 * (a structured clone keeps neither classes nor extra fields) and are rebuilt on arrival.
 */
export type WireError =
  | {
      kind: 'wrong-version';
      stream: string;
      expected: WrongExpectedVersionError['expected'];
      actual: number | 'no-stream';
    }
  | { kind: 'error'; name: string; message: string; code?: string };

export type WireOutcome =
  | { ok: true; result: { nextExpectedRevision: number; position: number } }
  | { ok: false; error: WireError };

export function toWireError(error: unknown): WireError {
  if (error instanceof WrongExpectedVersionError) {
    return {
      kind: 'wrong-version',
      stream: error.streamName,
      expected: error.expected,
      actual: error.actual,
    };
  }
  const { name, message, code } = error as { name?: unknown; message?: unknown; code?: unknown };
  return {
    kind: 'error',
    name: typeof name === 'string' ? name : 'Error',
    message: typeof message === 'string' ? message : String(error),
    ...(typeof code === 'string' ? { code } : {}),
  };
}

export function fromWireError(wire: WireError): Error {
  if (wire.kind === 'wrong-version')
    return new WrongExpectedVersionError(wire.stream, wire.expected, wire.actual);
  const error = new Error(wire.message) as Error & { code?: string };
  error.name = wire.name;
  if (wire.code !== undefined) error.code = wire.code;
  return error;
}

export const toWireOutcome = (outcome: AppendOutcome): WireOutcome =>
  outcome.ok ? outcome : { ok: false, error: toWireError(outcome.error) };

export const fromWireOutcome = (outcome: WireOutcome): AppendOutcome =>
  outcome.ok ? outcome : { ok: false, error: fromWireError(outcome.error) };
