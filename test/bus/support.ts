/** Shared bits of the NATS bus tests: inputs and commands to send, unique names, waiting. */
import { randomUUID } from 'node:crypto';
import { createNatsBus, type NatsBus, type NatsBusOptions } from '../../src/bus/nats/index.ts';
import type { SendRequestCommand, SendResponseCommand, SipRequestInput } from '../../src/shared/messages.ts';

/** Stream and subject names of one test, so tests sharing a server never see each other's messages. */
export function isolated(): Pick<NatsBusOptions, 'streamName' | 'subjectPrefix'> {
  const id = randomUUID().slice(0, 8);
  return { streamName: `T_${id}`, subjectPrefix: `t${id}` };
}

/** Opens buses on one server with the same names; closes them all with `closeAll`. */
export function busFactory(url: string, shared: Partial<NatsBusOptions> = {}) {
  const names = isolated();
  const opened: NatsBus[] = [];
  return {
    /** The stream and subject prefix these buses share. */
    names,
    async open(extra: Partial<NatsBusOptions> = {}): Promise<NatsBus> {
      const bus = await createNatsBus({ servers: url, ...names, ...shared, ...extra });
      opened.push(bus);
      return bus;
    },
    async closeAll(): Promise<void> {
      await Promise.all(opened.splice(0).map((bus) => bus.close().catch(() => {})));
    },
  };
}

/** A request input of call `callId`; `n` makes its transaction (and so its key) unique. */
export function requestInput(callId: string, n: number, method = 'INFO'): SipRequestInput {
  return {
    kind: 'request',
    adapterId: 'a1',
    transactionKey: `z9hG4bK-${callId}-${n}:${method}`,
    method,
    uri: 'sip:+15550200000@acme.pstn.pivot.test',
    callId,
    from: { uri: 'sip:+15550100000@127.0.0.1', displayName: 'Zoë "Agent"', params: { tag: 'f1' } },
    to: { uri: 'sip:+15550200000@acme.pstn.pivot.test', params: {} },
    cseq: { seq: n + 1, method },
    recordRoute: [],
    headers: { 'x-seq': [String(n)], via: [`SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-${callId}-${n}`] },
    body: 'v=0\r\no=pbx 1 1 IN IP4 127.0.0.1\r\ns=-\r\n',
    source: { transport: 'udp', host: '127.0.0.1', port: 5070 },
    receivedAt: new Date(1_700_000_000_000 + n).toISOString(),
  };
}

export function responseCommand(adapterId: string, n: number): SendResponseCommand {
  return { kind: 'response', adapterId, transactionKey: `z9hG4bK-r${n}:INVITE`, status: 200, reason: 'OK' };
}

export function requestCommand(n: number): SendRequestCommand {
  return {
    kind: 'request',
    branch: `z9hG4bK-q${n}`,
    method: 'BYE',
    uri: 'sip:pbx@127.0.0.1:5070',
    destination: { transport: 'udp', host: '127.0.0.1', port: 5070 },
    callId: `c${n}@pivot`,
    from: { uri: 'sip:pivot@127.0.0.1', params: { tag: 'p' } },
    to: { uri: 'sip:pbx@127.0.0.1', params: { tag: 'x' } },
    cseq: { seq: n, method: 'BYE' },
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves when `predicate` holds, polling; rejects with `what` after `timeoutMs`. */
export async function waitUntil(
  what: string,
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
