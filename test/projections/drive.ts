/**
 * Drives the real engine with typed SIP inputs on a manual clock, so projection specs and the bench
 * read event streams exactly as the engine stores them, with durations the spec chooses.
 *
 *   const d = createDriver({ store });
 *   const call = await d.terminating({ to: '+442079460000' });
 *   d.advance(5); await call.answer();
 *   d.advance(20); const t = await call.refer('<sip:bob@127.0.0.1:5080>');
 *   await t.complete();            // held, ringing, answered, reconnected
 *   d.advance(1); await call.hangup('customer');
 *   d.advance(90); await t.child().hangup('target');
 */
import { randomUUID } from 'node:crypto';
import type { PivotConfig } from '../../src/config/index.ts';
import { createEngine, type Engine, type Outcome } from '../../src/engine/engine.ts';
import type { TrunkDirectory } from '../../src/engine/trunks.ts';
import type { NameAddr, SendRequestCommand, SipCommand, SipRequestInput } from '../../src/shared/messages.ts';
import type { EventStore } from '../../src/store/port.ts';
import { answer, SDP_CARRIER, SDP_PBX, SDP_TARGET, testConfig } from '../helpers/sipInputs.ts';

export const PBX_HOST = { transport: 'udp', host: '127.0.0.1', port: 5070 } as const;
export const CARRIER_HOST = { transport: 'udp', host: '127.0.0.2', port: 5090 } as const;
/** The trunk's number in testConfig(), and numbers outside it. */
export const TRUNK_NUMBER = '+15550100000';
export const US_NUMBER = '+15550200000';
export const UK_NUMBER = '+442079460000';
export const CALLER = '+13125550142';

/** testConfig() with a rate deck that makes every billing case visible. */
export function billingConfig(overrides: Parameters<typeof testConfig>[0] = {}): PivotConfig {
  const config = testConfig(overrides);
  const trunk = config.trunks[0]!;
  return {
    ...config,
    trunks: [
      {
        ...trunk,
        rates: {
          currency: 'USD',
          origination: { '': 0.0034, '+1312': 0.005 },
          termination: { '': 0.0045, '+44': 0.011 },
        },
      },
    ],
  };
}

const addr = (uri: string, tag?: string): NameAddr => ({ uri, params: tag ? { tag } : {} });

export interface DriverOptions {
  store: EventStore;
  config?: PivotConfig;
  trunks?: () => TrunkDirectory;
  /** The engine clock at the start. */
  start?: string;
}

/** What the peer (PBX or carrier) knows of a dialog it has with the pivot. */
interface PeerDialog {
  callId: string;
  /** The peer's own address (From of its requests), with its tag. */
  self: NameAddr;
  /** The pivot's address, with the pivot's tag. */
  pivot: NameAddr;
  source: SipRequestInput['source'];
  cseq: number;
}

export type Driver = ReturnType<typeof createDriver>;

export function createDriver(options: DriverOptions) {
  const store = options.store;
  const config = options.config ?? billingConfig();
  let now = Date.parse(options.start ?? '2025-03-14T09:00:00.000Z');
  const sent: SipCommand[] = [];
  let counter = 0;
  // Call-IDs unique across drivers sharing a store.
  const tag = randomUUID().slice(0, 8);
  const engine: Engine = createEngine({
    store,
    config,
    send: (command) => sent.push(command),
    clock: () => new Date(now),
    // Timers never fire by themselves: a spec fires them with `fireTimer`.
    timers: { set: () => 0, clear: () => {} },
    ...(options.trunks ? { trunks: options.trunks } : {}),
  });

  const iso = () => new Date(now).toISOString();

  async function handle(input: Parameters<Engine['handle']>[0]): Promise<Outcome> {
    const outcome = await engine.handle(input);
    if (outcome.kind !== 'stored' && outcome.kind !== 'replied') {
      throw new Error(`driver: ${outcome.kind}: ${outcome.why}`);
    }
    return outcome;
  }

  /** The last request the pivot sent with this method (and Call-ID, when given). */
  function lastRequest(method: string, callId?: string): SendRequestCommand {
    const found = sent
      .filter(
        (c): c is SendRequestCommand =>
          c.kind === 'request' && c.method === method && (callId === undefined || c.callId === callId),
      )
      .at(-1);
    if (!found) throw new Error(`driver: no ${method} sent`);
    return found;
  }

  function inDialog(dialog: PeerDialog, method: string, headers: Record<string, string[]> = {}) {
    dialog.cseq++;
    const input: SipRequestInput = {
      kind: 'request',
      adapterId: 'a1',
      transactionKey: `z9hG4bKdrv${++counter}:${method}`,
      method,
      uri: 'sip:pivot@127.0.0.1:5060',
      callId: dialog.callId,
      from: dialog.self,
      to: dialog.pivot,
      cseq: { seq: dialog.cseq, method },
      recordRoute: [],
      headers,
      body: '',
      source: dialog.source,
      receivedAt: iso(),
    };
    return input;
  }

  /** A peer's dialog with a request the pivot sent (its To tag becomes the peer's tag). */
  function dialogOfRequest(request: SendRequestCommand, peerTag: string): PeerDialog {
    return {
      callId: request.callId,
      self: { ...request.to, params: { ...request.to.params, tag: peerTag } },
      pivot: request.from,
      source: request.destination,
      cseq: 0,
    };
  }

  function makeTransfer(transferSid: string, far: () => PeerDialog, referredAt: number) {
    let targetInvite: SendRequestCommand | undefined;
    let holdInvite: SendRequestCommand | undefined;
    const farCallId = () => far().callId;
    const transfer = {
      referredAt,
      sid: transferSid,
      async held() {
        holdInvite = lastRequest('INVITE', farCallId());
        await handle(answer(holdInvite, 200, 'OK', SDP_CARRIER, 'gw'));
        targetInvite = lastRequest('INVITE');
        return targetInvite;
      },
      async holdRefused() {
        holdInvite = lastRequest('INVITE', farCallId());
        await handle(answer(holdInvite, 488, 'Not Acceptable Here'));
        targetInvite = lastRequest('INVITE');
      },
      async ringing() {
        await handle(answer(targetInvite!, 180, 'Ringing', '', 'tgt'));
      },
      async answered() {
        await handle(answer(targetInvite!, 200, 'OK', SDP_TARGET, 'tgt'));
      },
      async reconnected() {
        await handle(answer(lastRequest('INVITE', farCallId()), 200, 'OK', SDP_CARRIER, 'gw'));
      },
      async targetFailed(status: number, reason: string) {
        await handle(answer(targetInvite!, status, reason, '', 'tgt'));
        await handle(answer(lastRequest('INVITE', farCallId()), 200, 'OK', SDP_CARRIER, 'gw'));
      },
      /** The no-answer timer fires, then the far party is resumed. */
      async noAnswer() {
        const pending = engine.pendingTimers().find((t) => t.timer.name === 'no-answer');
        if (!pending) throw new Error('driver: no no-answer timer pending');
        const { timer } = pending;
        await engine.fireTimer(pending.sessionSid, {
          type: 'TimerFired',
          callSid: timer.callSid,
          at: iso(),
          timerId: timer.timerId,
          name: timer.name,
          ...(timer.transferSid ? { transferSid: timer.transferSid } : {}),
        });
        await handle(answer(lastRequest('INVITE', farCallId()), 200, 'OK', SDP_CARRIER, 'gw'));
      },
      /** Held, ringing, answered and reconnected, with `ringSeconds` between the INVITE and the answer. */
      async complete(ringSeconds = 0) {
        await transfer.held();
        await transfer.ringing();
        now += ringSeconds * 1000;
        await transfer.answered();
        await transfer.reconnected();
      },
      /** The child call (transferee <-> target) once the transfer completed. */
      child() {
        const target = dialogOfRequest(targetInvite!, 'tgt');
        return {
          async hangup(by: 'target' | 'far') {
            return handle(inDialog(by === 'target' ? target : far(), 'BYE'));
          },
        };
      },
    };
    return transfer;
  }

  type Transfer = ReturnType<typeof makeTransfer>;

  function makeCall(
    invite: SipRequestInput,
    direction: 'trunking-terminating' | 'trunking-originating',
    sessionSid: string,
  ) {
    let outbound: SendRequestCommand | undefined;
    let pivotTag: string | undefined;
    const outboundRequest = () => {
      outbound ??= lastRequest('INVITE');
      return outbound;
    };
    const inboundDialog = (): PeerDialog => ({
      callId: invite.callId,
      self: invite.from,
      pivot: { ...invite.to, params: { tag: pivotTag ?? 'none' } },
      source: invite.source,
      cseq: invite.cseq.seq,
    });
    let inbound: PeerDialog | undefined;
    let outboundDialog: PeerDialog | undefined;
    const peerTag = direction === 'trunking-terminating' ? 'gw' : 'pbx';
    const customer = (): PeerDialog => {
      if (direction === 'trunking-terminating') {
        inbound ??= inboundDialog();
        return inbound;
      }
      outboundDialog ??= dialogOfRequest(outboundRequest(), peerTag);
      return outboundDialog;
    };
    const far = (): PeerDialog => {
      if (direction === 'trunking-originating') {
        inbound ??= inboundDialog();
        return inbound;
      }
      outboundDialog ??= dialogOfRequest(outboundRequest(), peerTag);
      return outboundDialog;
    };
    const transfers: Transfer[] = [];
    const call = {
      sid: sessionSid,
      direction,
      async progress(status = 180) {
        await handle(answer(outboundRequest(), status, 'Ringing', '', peerTag));
      },
      async answer() {
        const before = sent.length;
        await handle(
          answer(
            outboundRequest(),
            200,
            'OK',
            direction === 'trunking-terminating' ? SDP_CARRIER : SDP_PBX,
            peerTag,
          ),
        );
        const ok = sent.slice(before).find((c) => c.kind === 'response' && c.status === 200);
        if (ok?.kind !== 'response' || !ok.toTag) throw new Error('driver: no 200 to the caller');
        pivotTag = ok.toTag;
      },
      async reject(status: number, reason: string) {
        await handle(answer(outboundRequest(), status, reason, '', peerTag));
      },
      async cancel() {
        await handle({ ...invite, transactionKey: `${invite.transactionKey}-c:CANCEL`, method: 'CANCEL' });
      },
      async hangup(by: 'customer' | 'far') {
        return handle(inDialog(by === 'customer' ? customer() : far(), 'BYE'));
      },
      /** A REFER from the PBX on the customer leg. */
      async refer(referTo: string, referredBy?: string) {
        const headers: Record<string, string[]> = { 'refer-to': [referTo] };
        if (referredBy) headers['referred-by'] = [referredBy];
        const outcome = await handle(inDialog(customer(), 'REFER', headers));
        const refer = outcome.kind === 'stored' ? outcome.events[0] : undefined;
        if (refer?.type !== 'ReferReceived') throw new Error('driver: the REFER was not stored');
        const transfer = makeTransfer(refer.transferSid, far, now);
        transfers.push(transfer);
        return Object.assign(transfer, { outcome });
      },
    };
    return call;
  }

  return {
    engine,
    store,
    config,
    sent,
    /** Moves the engine clock forward. */
    advance(seconds: number) {
      now += seconds * 1000;
    },
    now: iso,
    /** The PBX calls `to` through the trunk (terminating). */
    async terminating(options: { to?: string; from?: string } = {}) {
      const to = options.to ?? US_NUMBER;
      const from = options.from ?? TRUNK_NUMBER;
      const id = ++counter;
      const invite: SipRequestInput = {
        kind: 'request',
        adapterId: 'a1',
        transactionKey: `z9hG4bKdrv${id}:INVITE`,
        method: 'INVITE',
        uri: `sip:${to}@acme.pstn.pivot.test`,
        callId: `drv-${tag}-${id}@127.0.0.1`,
        from: addr(`sip:${from}@127.0.0.1`, `pbx${id}`),
        to: addr(`sip:${to}@acme.pstn.pivot.test`),
        cseq: { seq: 1, method: 'INVITE' },
        contact: addr('sip:pbx@127.0.0.1:5070'),
        recordRoute: [],
        headers: {},
        body: SDP_PBX,
        source: PBX_HOST,
        receivedAt: iso(),
      };
      const outcome = await handle(invite);
      return makeCall(invite, 'trunking-terminating', outcome.sessionSid);
    },
    /** The carrier calls the trunk's number from `from` (originating). */
    async originating(options: { from?: string; to?: string } = {}) {
      const from = options.from ?? CALLER;
      const to = options.to ?? TRUNK_NUMBER;
      const id = ++counter;
      const invite: SipRequestInput = {
        kind: 'request',
        adapterId: 'a1',
        transactionKey: `z9hG4bKdrv${id}:INVITE`,
        method: 'INVITE',
        uri: `sip:${to}@127.0.0.1`,
        callId: `gw-${tag}-${id}@127.0.0.2`,
        from: addr(`sip:${from}@127.0.0.2`, `gw${id}`),
        to: addr(`sip:${to}@127.0.0.1`),
        cseq: { seq: 1, method: 'INVITE' },
        contact: addr('sip:gw@127.0.0.2:5090'),
        recordRoute: [],
        headers: {},
        body: SDP_CARRIER,
        source: CARRIER_HOST,
        receivedAt: iso(),
      };
      const outcome = await handle(invite);
      return makeCall(invite, 'trunking-originating', outcome.sessionSid);
    },
  };
}

/**
 * `count` sessions of varied traffic, in turn: plain calls (completed, busy, failed, no answer,
 * canceled), and transfers of each billing case, completed, busy or unanswered. Returns the root sids.
 */
export async function mixedTraffic(d: Driver, count: number): Promise<string[]> {
  const sids: string[] = [];
  for (let i = 0; i < count; i++) {
    const kind = i % 10;
    const originating = i % 2 === 1;
    const call = originating
      ? await d.originating({ from: i % 4 === 1 ? CALLER : `+1555${String(1000000 + i).slice(-7)}` })
      : await d.terminating({ to: i % 4 === 0 ? UK_NUMBER : US_NUMBER });
    sids.push(call.sid);
    d.advance(1 + (i % 3));
    if (kind === 1) {
      await call.reject(486, 'Busy Here');
      continue;
    }
    if (kind === 2) {
      await call.reject(503, 'Service Unavailable');
      continue;
    }
    if (kind === 3) {
      await call.cancel();
      continue;
    }
    await call.answer();
    d.advance(10 + (i % 50));
    if (kind === 0 || kind === 4) {
      await call.hangup(i % 3 === 0 ? 'far' : 'customer');
      continue;
    }
    // Alternate the target kind per decade so both directions get both kinds.
    const target = (kind + Math.floor(i / 10)) % 2 === 0 ? '<sip:bob@127.0.0.1:5080>' : `<tel:${UK_NUMBER}>`;
    const transfer = await call.refer(target, '<sip:agent@127.0.0.1>');
    if (kind === 9) {
      await transfer.held();
      await transfer.ringing();
      d.advance(30);
      await transfer.noAnswer();
      d.advance(5);
      await call.hangup('customer');
      continue;
    }
    if (kind === 8) {
      await transfer.held();
      await transfer.targetFailed(486, 'Busy Here');
      d.advance(5);
      await call.hangup('far');
      continue;
    }
    await transfer.complete(2 + (i % 7));
    d.advance(1);
    await call.hangup('customer');
    d.advance(20 + (i % 90));
    await transfer.child().hangup(i % 2 === 0 ? 'target' : 'far');
  }
  return sids;
}
