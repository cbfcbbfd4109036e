/**
 * Engines re-send a command no adapter acknowledged; a later command of the same dialog waits for it,
 * so the peer never gets NOTIFY CSeq 4 before NOTIFY CSeq 3. Other dialogs are not held up. The NATS
 * connection is a stand-in; the real server's behaviour is covered by test/distributed.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { decodeCommand } from '../../src/bus/nats/codec.ts';
import { createCommandSender } from '../../src/bus/nats/commands.ts';
import { resolveOptions } from '../../src/bus/nats/options.ts';
import type { SendRequestCommand } from '../../src/shared/messages.ts';

const notify = (callId: string, seq: number): SendRequestCommand => ({
  kind: 'request',
  branch: `z9hG4bK-${callId}-${seq}-notify`,
  method: 'NOTIFY',
  uri: 'sip:pbx@127.0.0.1:5070',
  destination: { transport: 'udp', host: '127.0.0.1', port: 5070 },
  callId,
  from: { uri: 'sip:pivot@127.0.0.1', params: { tag: 'p' } },
  to: { uri: 'sip:pbx@127.0.0.1', params: { tag: 'q' } },
  cseq: { seq, method: 'NOTIFY' },
  headers: { Event: 'refer' },
  body: 'SIP/2.0 100 Trying\r\n',
  contentType: 'message/sipfrag;version=2.0',
});

describe('sending commands', () => {
  it('keeps a dialog’s commands in order when the first one has to be re-sent', async () => {
    const executed: string[] = [];
    let refusedOnce = false;
    const nc = {
      isClosed: () => false,
      isDraining: () => false,
      async request(_subject: string, data: Uint8Array) {
        const command = decodeCommand(data) as SendRequestCommand;
        // The adapter is reconnecting when the first NOTIFY of call-a first goes out.
        if (command.callId === 'call-a' && command.cseq.seq === 3 && !refusedOnce) {
          refusedOnce = true;
          throw new Error('TimeoutError: timeout');
        }
        executed.push(`${command.callId} ${command.cseq.seq}`);
      },
    } as unknown as NatsConnection;
    const send = createCommandSender(nc, resolveOptions({ servers: 'nats://unused' }));
    send(notify('call-a', 3), 'sip-1');
    send(notify('call-a', 4), 'sip-1');
    send(notify('call-b', 3), 'sip-1');
    await expect.poll(() => executed.length, { timeout: 2_000 }).toBe(3);
    expect(executed).toEqual(['call-b 3', 'call-a 3', 'call-a 4']);
  });
});
