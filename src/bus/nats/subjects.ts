/**
 * Subject and consumer names of the NATS bus. Pure.
 *
 *   <prefix>.inputs.<partition>     inputs, adapter -> engines (JetStream)
 *   <prefix>.commands.<adapterId>   commands for one adapter (core NATS)
 *   <prefix>.commands.any           commands any adapter may send; adapters share a queue group
 *   <prefix>-p<partition>           the durable pull consumer of a partition
 */

const TOKEN = /^[A-Za-z0-9_-]+$/;

/** The token addressing "whichever adapter": no adapter may be named like it. */
export const ADAPTER_ANY = 'any';

/** Throws unless `value` can be one subject token (and a part of a consumer name). */
export function assertToken(what: string, value: string): void {
  if (!TOKEN.test(value)) {
    throw new Error(
      `nats bus: ${what} must match ${TOKEN} (one subject token), got ${JSON.stringify(value)}`,
    );
  }
}

export function inputSubject(prefix: string, partition: number): string {
  return `${prefix}.inputs.${partition}`;
}

export function inputSubjects(prefix: string): string {
  return `${prefix}.inputs.*`;
}

export function consumerName(prefix: string, partition: number): string {
  return `${prefix}-p${partition}`;
}

export function commandSubject(prefix: string, adapterId: string | undefined): string {
  if (adapterId === undefined) return `${prefix}.commands.${ADAPTER_ANY}`;
  assertToken('adapterId', adapterId);
  return `${prefix}.commands.${adapterId}`;
}

/** The queue group in which adapters share the `any` subject, so exactly one sends each command. */
export function adapterQueue(prefix: string): string {
  return `${prefix}-adapters`;
}
