/**
 * Client transactions: the requests the engine asked us to send.
 * - UDP retransmission per RFC 3261 timers A (INVITE, doubling) and E (non-INVITE, capped at T2), a
 *   synthetic 408 when timer B/F expires and a synthetic 503 on a transport error (§8.1.3.1), both
 *   marked with the header `x-pivot-generated`.
 * - Responses matched by top Via branch + CSeq method; a retransmitted response is delivered once.
 * - The ACK of a non-2xx final response to an INVITE is sent here (it belongs to the transaction),
 *   and re-sent when that response is retransmitted.
 * - ACK for 2xx is the engine's (it is a new transaction): we send it plainly and keep it 64*T1 to
 *   re-send it when the 2xx is retransmitted instead of bothering the engine again; a repeated ACK
 *   command within that time sends nothing (only a retransmitted 2xx makes the ACK go again).
 * - CANCEL reuses the INVITE's branch; it is held back until the INVITE has had a provisional
 *   response (§9.1) and dropped if the INVITE has already completed. It goes where the INVITE went.
 * - A request too large for UDP goes over TCP, and back to UDP if no connection can be made (sizeRule.ts).
 */
import {
  isStream,
  type SendRequestCommand,
  type SipEndpoint,
  type SipResponseInput,
  type Transport,
} from '../shared/messages.ts';
import { buildAckForFailure, buildRequest, type LocalAddress } from './buildRequest.ts';
import { PENDING_SERVER_TRANSACTION_MS, T2_FACTOR, TRANSACTION_TIMEOUT_FACTOR } from './constants.ts';
import { createExpiringMap } from './expiringMap.ts';
import { clientTransactionKey, sentAckKey } from './keys.ts';
import { type Retransmission, startRetransmission } from './retransmit.ts';
import { serializeMessage } from './serialize.ts';
import { connectionRefused, tcpInsteadOfUdp } from './sizeRule.ts';
import { responseToInput } from './toInput.ts';
import type { DialogObserver, Logger, SendFn, ValidResponse } from './types.ts';

export interface ClientSideOptions {
  adapterId: string;
  t1Ms: number;
  send: SendFn;
  deliver: (input: SipResponseInput) => void;
  log: Logger;
  now: () => number;
  /** Our address for the Via header; known once the transport is bound. */
  /** Where we are reached over this transport (TLS listens on a port of its own). */
  local: (transport: Transport) => LocalAddress;
  dialogs?: DialogObserver;
}

export interface ClientSide {
  sendRequest(command: SendRequestCommand): void;
  handleResponse(response: ValidResponse, source: SipEndpoint): void;
  sweep(): void;
  stop(): void;
}

interface ClientTransaction {
  key: string;
  command: SendRequestCommand;
  data: Buffer;
  /** trying: nothing heard yet; proceeding: a provisional; completed: a final. */
  state: 'trying' | 'proceeding' | 'completed';
  retransmission: Retransmission;
  /** `status toTag` of every response delivered, to absorb retransmissions. */
  seen: Set<string>;
  ack?: Buffer;
  pendingCancel?: SendRequestCommand;
  /** The final response, kept while the transaction absorbs retransmissions. */
  final?: { response: ValidResponse; source: SipEndpoint };
}

/** How long a completed non-INVITE transaction absorbs retransmitted finals (§17.1.2.2 timer K, T4). */
const COMPLETED_NON_INVITE_MS = 5_000;

export function createClientSide(options: ClientSideOptions): ClientSide {
  const { log, t1Ms } = options;
  const timeoutMs = TRANSACTION_TIMEOUT_FACTOR * t1Ms;
  const transactions = createExpiringMap<ClientTransaction>(options.now);
  const sentAcks = createExpiringMap<{ destination: SipEndpoint; data: Buffer }>(options.now);

  const deliver = (response: ValidResponse, source: SipEndpoint) =>
    options.deliver(
      responseToInput(response, {
        adapterId: options.adapterId,
        source,
        receivedAt: new Date(options.now()),
        transactionKey: response.topVia.branch,
      }),
    );

  /** A response nobody sent: what the engine must hear when the peer never answers or is unreachable. */
  let stopping = false;

  const deliverGenerated = (command: SendRequestCommand, status: number, reason: string, why: string) => {
    if (command.method === 'BYE') options.dialogs?.ended(command.callId);
    options.deliver({
      kind: 'response',
      adapterId: options.adapterId,
      transactionKey: command.branch,
      callId: command.callId,
      from: command.from,
      to: command.to,
      cseq: command.cseq,
      recordRoute: [],
      headers: { 'x-pivot-generated': [why] },
      body: '',
      source: { ...command.destination },
      receivedAt: new Date(options.now()).toISOString(),
      status,
      reason,
    });
  };

  const resendAck = (response: ValidResponse): boolean => {
    const ack = sentAcks.get(sentAckKey(response.callId, response.cseq.seq, response.to.params.tag));
    if (!ack) return false;
    options.send(ack.destination, ack.data);
    return true;
  };

  const build = (command: SendRequestCommand): Buffer => {
    const built = buildRequest(command, options.local(command.destination.transport));
    if (built.ignoredHeaders.length > 0) {
      log('warn', 'sip request headers ignored (the adapter writes them)', { headers: built.ignoredHeaders });
    }
    return serializeMessage(built.message);
  };

  /** The command as it will go on the wire, and its bytes: over TCP when too large for UDP. */
  const prepare = (command: SendRequestCommand): { command: SendRequestCommand; data: Buffer } => {
    const data = build(command);
    const tcp = tcpInsteadOfUdp(command, data.length);
    if (!tcp) return { command, data };
    log('info', 'sip request too large for udp: sent over tcp', {
      method: command.method,
      bytes: data.length,
    });
    return { command: tcp, data: build(tcp) };
  };

  const start = (requested: SendRequestCommand) => {
    const key = clientTransactionKey(requested.branch, requested.method);
    // §9.1: a CANCEL goes to the same address, port and transport as its INVITE.
    const invite = requested.method === 'CANCEL' ? transactions.get(requested.branch) : undefined;
    const aligned =
      invite?.command.method === 'INVITE'
        ? { ...requested, destination: invite.command.destination }
        : requested;
    let { command, data } = prepare(aligned);
    const isInvite = command.method === 'INVITE';
    const fail = (status: number, reason: string, why: string) => {
      if (transactions.get(key) !== transaction) return;
      transaction.retransmission.stop();
      transactions.delete(key);
      log('warn', 'sip request failed without a response', {
        method: command.method,
        branch: command.branch,
        why,
      });
      deliverGenerated(command, status, reason, why);
    };
    const send = () => {
      const sent = command;
      options.send(sent.destination, data, (error) => {
        // A failed connection may report more than once; only the first report about what is in use counts.
        if (sent !== command) return;
        if (sent !== aligned && connectionRefused(error) && transaction.state === 'trying') {
          backToUdp(error);
          return;
        }
        fail(503, 'Service Unavailable', 'transport-error');
      });
    };
    const retransmit = () =>
      startRetransmission({
        send,
        reliable: isStream(command.destination.transport),
        firstIntervalMs: t1Ms,
        ...(isInvite ? {} : { capMs: T2_FACTOR * t1Ms }),
        deadlineMs: timeoutMs,
        onDeadline: () => fail(408, 'Request Timeout', 'timeout'),
      });
    /** §18.1.1: the TCP connection was refused or reset: retry the request over UDP, as asked. */
    const backToUdp = (error: Error) => {
      if (transactions.get(key) !== transaction) return;
      log('info', 'sip tcp connection for a large request failed: sent over udp', {
        method: command.method,
        error: error.message,
      });
      transaction.retransmission.stop();
      command = aligned;
      data = build(aligned);
      transaction.command = command;
      transaction.data = data;
      transaction.retransmission = retransmit();
      send();
    };
    const transaction: ClientTransaction = {
      key,
      command,
      data,
      state: 'trying',
      seen: new Set(),
      retransmission: retransmit(),
    };
    // A ringing INVITE has no timeout of its own (the engine CANCELs a new call's at Timer C); keep it
    // long enough. One still without a final answer then (a re-INVITE a proxy answered 100 and its UAS
    // never did) is given up with a 408 the engine hears, as a proxy's Timer C would (§16.6, 16.8): no
    // transfer waits on it forever.
    transactions.set(key, transaction, isInvite ? PENDING_SERVER_TRANSACTION_MS : timeoutMs + t1Ms, (t) => {
      t.retransmission.stop();
      if (isInvite && t.state === 'proceeding' && !stopping) {
        deliverGenerated(t.command, 408, 'Request Timeout', 'no-final-response');
      }
    });
    send();
  };

  const handleInviteResponse = (transaction: ClientTransaction, response: ValidResponse, repeat: boolean) => {
    const { status } = response;
    transaction.retransmission.stop();
    if (status < 200) {
      if (transaction.state === 'trying') {
        transaction.state = 'proceeding';
        const cancel = transaction.pendingCancel;
        transaction.pendingCancel = undefined;
        if (cancel) start(cancel);
      }
      return repeat ? undefined : 'deliver';
    }
    if (transaction.pendingCancel) {
      log('info', 'sip CANCEL not sent: the INVITE completed first', { branch: transaction.command.branch });
      transaction.pendingCancel = undefined;
    }
    transaction.state = 'completed';
    transactions.expireIn(transaction.key, timeoutMs);
    if (status < 300) {
      // A repeated 2xx means our ACK was lost: re-send it; if the engine has not ACKed yet, tell it again.
      return repeat && resendAck(response) ? undefined : 'deliver';
    }
    const to = response.raw.headers.find((h) => h.name === 'to')?.value ?? '';
    transaction.ack ??= serializeMessage(
      buildAckForFailure(transaction.command, options.local(transaction.command.destination.transport), to),
    );
    options.send(transaction.command.destination, transaction.ack);
    return repeat ? undefined : 'deliver';
  };

  const handleOtherResponse = (transaction: ClientTransaction, response: ValidResponse, repeat: boolean) => {
    if (response.status < 200) {
      // §17.1.2.2: in Proceeding, retransmit every T2 until the final response or timer F.
      if (transaction.state === 'trying') transaction.retransmission.setInterval(T2_FACTOR * t1Ms);
      transaction.state = 'proceeding';
    } else {
      transaction.retransmission.stop();
      transaction.state = 'completed';
      transactions.expireIn(transaction.key, COMPLETED_NON_INVITE_MS);
    }
    return repeat ? undefined : 'deliver';
  };

  const observeDialog = (response: ValidResponse, source: SipEndpoint) => {
    const method = response.cseq.method;
    if (method === 'INVITE' && response.status < 300) options.dialogs?.confirmed(response.callId, source);
    if (method === 'BYE') options.dialogs?.ended(response.callId);
  };

  return {
    sendRequest(command) {
      if (command.method === 'ACK') {
        // ACK for a 2xx: its own transaction with nothing to wait for (§17.1.1.3).
        const ackKey = sentAckKey(command.callId, command.cseq.seq, command.to.params.tag);
        const { command: wire, data } = prepare(command);
        const sent = sentAcks.get(ackKey);
        if (sent) {
          // A repeated command (an engine heard the 2xx again while the bus was slow, or redelivered it)
          // sends nothing: from here on the ACK goes again only when the 2xx does (§13.2.2.4). An
          // unasked-for copy can reach the peer after later requests of the dialog, out of order.
          if (sent.data.equals(data))
            log('info', 'sip repeated ACK command absorbed', { callId: command.callId });
          else log('warn', 'sip different ACK for an acknowledged 2xx dropped', { callId: command.callId });
          return;
        }
        let retried = false;
        options.send(wire.destination, data, (error) => {
          if (wire === command || retried || !connectionRefused(error)) return;
          retried = true;
          // §18.1.1, as for any request: no connection, so UDP after all.
          const udp = { destination: command.destination, data: build(command) };
          sentAcks.set(ackKey, udp, timeoutMs);
          options.send(udp.destination, udp.data);
        });
        sentAcks.set(ackKey, { destination: wire.destination, data }, timeoutMs);
        return;
      }
      const key = clientTransactionKey(command.branch, command.method);
      const existing = transactions.get(key);
      if (existing) {
        if (existing.state === 'completed') {
          // A completed client transaction never sends its request again (§17.1.1.2, §17.1.2.2): the
          // engine repeating the command has missed the answer, so it hears the final response again.
          if (existing.final) deliver(existing.final.response, existing.final.source);
          log(
            'info',
            'sip repeated request command for a completed transaction: final response delivered again',
            {
              key,
            },
          );
          return;
        }
        // Still waiting for the final: the transaction's own timers retransmit (UDP) or the connection
        // carries it (TCP); an extra copy now would only reach the peer as an unasked-for repeat.
        log('info', 'sip repeated request command absorbed by its live transaction', { key });
        return;
      }
      if (command.method === 'CANCEL') {
        const invite = transactions.get(command.branch);
        if (invite?.command.method === 'INVITE' && invite.state === 'trying') {
          invite.pendingCancel = command;
          return;
        }
        if (invite?.command.method === 'INVITE' && invite.state === 'completed') {
          log('info', 'sip CANCEL not sent: the INVITE already completed', { branch: command.branch });
          return;
        }
      }
      start(command);
    },

    handleResponse(response, source) {
      if (response.status >= 200) observeDialog(response, source);
      const key = clientTransactionKey(response.topVia.branch, response.cseq.method);
      const transaction = transactions.get(key);
      const isInvite2xx =
        response.cseq.method === 'INVITE' && response.status >= 200 && response.status < 300;
      if (!transaction || transaction.command.method !== response.cseq.method) {
        // §13.2.2.4: a 2xx may outlive its transaction (a late fork, or the adapter restarted).
        if (isInvite2xx) {
          if (!resendAck(response)) deliver(response, source);
          return;
        }
        log('info', 'sip stray response dropped', {
          branch: response.topVia.branch,
          status: response.status,
        });
        return;
      }
      if (response.status >= 200) transaction.final ??= { response, source };
      const signature = `${response.status} ${response.to.params.tag ?? ''}`;
      const repeat = transaction.seen.has(signature);
      transaction.seen.add(signature);
      const verdict =
        response.cseq.method === 'INVITE'
          ? handleInviteResponse(transaction, response, repeat)
          : handleOtherResponse(transaction, response, repeat);
      if (verdict === 'deliver') deliver(response, source);
      else log('info', 'sip response retransmission absorbed', { key, status: response.status });
    },

    sweep() {
      transactions.sweep();
      sentAcks.sweep();
    },
    stop() {
      stopping = true;
      transactions.clear();
      sentAcks.clear();
    },
  };
}
