/**
 * What machines decide. Machines never perform I/O: each accepted input yields a list of effects that
 * the engine executes after the input and the facts are stored ("persist, then act").
 */
import type { SipCommand } from '../src/shared/messages.ts';
import type { Fact } from './events.ts';

export type Effect = { kind: 'sip'; command: SipCommand } | { kind: 'fact'; event: Fact };

export const sip = (command: SipCommand): Effect => ({ kind: 'sip', command });
export const fact = (event: Fact): Effect => ({ kind: 'fact', event });

/** Context shape shared by the machines: each transition leaves what it decided in `outbox`. */
export interface WithOutbox {
  outbox: Effect[];
}

/** A pure step: from context and input to the next context (outbox excluded) and the effects. */
export type Step<C extends WithOutbox, E> = (context: C, event: E) => [Omit<C, 'outbox'>, Effect[]];

export function addSeconds(iso: string, seconds: number): string {
  return new Date(Date.parse(iso) + seconds * 1000).toISOString();
}
