/**
 * The adapter's publisher keeps each session's inputs in the order they came off the wire, even when
 * one publish is retried (nats-server restarting): a later input of the same session waits for it,
 * while other sessions' inputs go on. JetStream and the connection are stand-ins here; the real
 * server's behaviour is covered by test/bus/nats-*.test.ts and test/distributed.
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { resolveOptions } from '../../src/bus/nats/options.ts';
import { createInputPublisher } from '../../src/bus/nats/publishInput.ts';
import { pbxInDialog, pbxInvite } from '../helpers/sipInputs.ts';

/** A JetStream whose first publish of `slowId` times out once; records what it stored, in order. */
function flakyJetStream(failFirstOf: (msgID: string) => boolean) {
  const stored: string[] = [];
  const failed = new Set<string>();
  const js = {
    async publish(_subject: string, _data: Uint8Array, opts: { msgID: string }) {
      if (failFirstOf(opts.msgID) && !failed.has(opts.msgID)) {
        failed.add(opts.msgID);
        await new Promise((resolve) => setTimeout(resolve, 20));
        throw new Error('TimeoutError: timeout');
      }
      stored.push(opts.msgID);
      return { seq: stored.length };
    },
  } as unknown as JetStreamClient;
  return { js, stored };
}

const connection = { isClosed: () => false, isDraining: () => false } as unknown as NatsConnection;

describe('publishing inputs', () => {
  it("keeps a session's inputs in wire order when the first one is retried; other sessions go on", async () => {
    const invite = pbxInvite();
    const bye = pbxInDialog(invite, 'pv1', 'BYE', 2);
    const other = pbxInvite();
    const { js, stored } = flakyJetStream((id) => id.endsWith(invite.transactionKey));
    const publish = createInputPublisher(connection, js, resolveOptions({ servers: 'nats://unused' }));
    await Promise.all([publish(invite), publish(bye), publish(other)]);
    const order = stored.map((id) => id.split(':').slice(1).join(':'));
    expect(order.indexOf(invite.transactionKey)).toBeLessThan(order.indexOf(bye.transactionKey));
    // The other call was not held up behind the retried INVITE.
    expect(order[0]).toBe(other.transactionKey);
  });

  it('lets the next input of the session go when a publish finally fails', async () => {
    const invite = pbxInvite();
    const bye = pbxInDialog(invite, 'pv1', 'BYE', 2);
    const js = {
      async publish(_s: string, _d: Uint8Array, opts: { msgID: string }) {
        if (opts.msgID.endsWith(invite.transactionKey)) throw new Error('TimeoutError: timeout');
        return { seq: 1 };
      },
    } as unknown as JetStreamClient;
    const publish = createInputPublisher(
      connection,
      js,
      resolveOptions({ servers: 'nats://unused', publishTimeoutMs: 200, publishAttemptTimeoutMs: 100 }),
    );
    const results = await Promise.allSettled([publish(invite), publish(bye)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled']);
  });
});
