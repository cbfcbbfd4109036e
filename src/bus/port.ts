/**
 * The bus between the SIP adapter and the engines. In-process (the default) it is a pair of function
 * calls; over NATS the inputs travel on a JetStream stream (durable, deduplicated, partitioned so each
 * session's inputs stay in order) and the commands go back to the adapter that holds the transaction.
 */
import type { SipCommand, SipInput } from '../shared/messages.ts';
import type { PeerSnapshot } from '../shared/peerStatus.ts';

export interface Closable {
  close(): Promise<void>;
}

/**
 * True when a consumer handler's rejection says retrying cannot help (`permanent: true` on the error,
 * as the engine's PoisonInputError has): the input is given up instead of delivered again.
 */
export function isPermanentFailure(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { permanent?: unknown }).permanent === true;
}

/** The adapter's side. */
export interface AdapterBus extends Closable {
  /** Hands an input to the engines. Resolves once the bus has it (stored, for a durable bus). */
  publishInput(input: SipInput): Promise<void>;
  /** Receives the commands addressed to this adapter instance. */
  onCommand(adapterId: string, handler: (command: SipCommand) => void): Promise<void>;
}

/** The engine's side. */
export interface EngineBus extends Closable {
  /**
   * Receives inputs. The handler's promise resolving means the input is stored and acted on; only then
   * is it acknowledged, so an engine dying mid-input leaves it to be redelivered to another engine.
   * Rejecting means it was not handled: a durable bus delivers it again later (a bounded number of
   * times), except when the error's `permanent` is true (a poison input no retry can fix), which is
   * given up at once. Inputs of one session are never handed out concurrently and keep their order.
   */
  consumeInputs(handler: (input: SipInput) => Promise<void>): Promise<void>;
  /**
   * Sends a command to an adapter: a response to the adapter holding its transaction
   * (`command.adapterId`); a request to `adapterId` (the adapter the causing input came through), or to
   * any adapter when the cause was a timer (`undefined`).
   */
  sendCommand(command: SipCommand, adapterId: string | undefined): void;
}

/**
 * The SIP peers' health between processes (NATS): one adapter pings and writes snapshots, the others
 * follow them. A write replaces a known sequence, so only one writer wins each turn.
 */
export interface PeerStateBus {
  /** The last snapshot written, with its sequence; undefined when none was. */
  latest(): Promise<{ snapshot: PeerSnapshot; sequence: number } | undefined>;
  /**
   * Writes `snapshot` over the one at `sequence` (0: over none). Resolves with the new sequence, or
   * undefined when another writer wrote since (nothing is written then).
   */
  publish(snapshot: PeerSnapshot, sequence: number): Promise<number | undefined>;
  /** The last snapshot (`live` false), then every one written (`live` true), until closed. */
  follow(handler: (snapshot: PeerSnapshot, live: boolean) => void): Promise<Closable>;
}
