/**
 * Server transactions: what the adapter remembers about requests it received, so that
 * - a retransmitted request is absorbed and answered with the last response sent for it,
 * - the engine's SendResponseCommand finds the request to copy Via/From/To/Call-ID/CSeq from,
 * - final responses to INVITEs are retransmitted over UDP until the ACK arrives (RFC 3261 §17.2.1
 *   timer G for failures, §13.3.1.4 for 2xx),
 * - OPTIONS, CANCEL without a live INVITE, methods we do not handle and requests we cannot serve
 *   (inspect.ts: URI scheme, Max-Forwards 0, an unsupported Require) are answered right here.
 * Entries expire after 64*T1 once answered.
 *
 * Answers that need no transaction are sent statelessly (RFC 3261 §8.2.7): once, without a retransmission
 * timer, and remembered by branch in a small bounded LRU that answers a retransmitted request with the
 * same bytes and absorbs the ACK of a refused INVITE. These are the adapter's own answers and the
 * engine's refusals of requests no machine owns (To tag `pv-stateless`, src/engine/classify.ts). A
 * flood of INVITEs from a source the engine refuses therefore leaves nothing behind, and each INVITE
 * is answered once (the refusal alone: no 100 Trying precedes a decision) instead of its refusal being
 * retransmitted until an ACK that a spoofed source never sends.
 *
 * A new INVITE gets its 100 Trying only once its input is durable (the bus took it, or the engine
 * stored it and decided): until then the caller keeps retransmitting, so a pivot that dies before
 * storing the INVITE is asked again instead of leaving a caller silent for good.
 */

import { createLru } from '../shared/lru.ts';
import {
  isStream,
  type SendResponseCommand,
  type SipEndpoint,
  type SipRequestInput,
} from '../shared/messages.ts';
import { ALLOWED_METHODS } from '../shared/sipCapabilities.ts';
import { buildResponse, type ResponseSpec } from './buildResponse.ts';
import {
  DEFAULT_MAX_PENDING_SERVER_TRANSACTIONS,
  MAX_DATAGRAM_BYTES,
  OVERLOAD_RETRY_AFTER_S,
  PENDING_SERVER_TRANSACTION_MS,
  STATELESS_ANSWER_MAX_BYTES,
  STATELESS_ANSWERS_KEPT,
  T2_FACTOR,
  TRANSACTION_TIMEOUT_FACTOR,
} from './constants.ts';
import { createExpiringMap } from './expiringMap.ts';
import { inspectRequest } from './inspect.ts';
import { inviteAckKey, serverTransactionKey } from './keys.ts';
import { type Retransmission, startRetransmission } from './retransmit.ts';
import { serializeMessage } from './serialize.ts';
import { requestToInput } from './toInput.ts';
import type { DialogObserver, Logger, RawMessage, SendFn, ValidRequest, Via } from './types.ts';
import { responseDestination } from './via.ts';

export interface ServerSideOptions {
  adapterId: string;
  t1Ms: number;
  send: SendFn;
  deliver: (input: SipRequestInput) => void;
  log: Logger;
  now: () => number;
  newTag: () => string;
  dialogs?: DialogObserver;
  /** Unanswered server transactions allowed at once; new requests beyond get 503 statelessly. */
  maxPending?: number;
}

/** The engine's mark on a refusal that no machine owns: it may be sent statelessly. */
export const STATELESS_TO_TAG = 'pv-stateless';

export interface ServerSideStats {
  /** Server transactions held: waiting for an answer, or answered and absorbing retransmissions. */
  transactions: number;
  /** Of those, the ones still waiting for a final answer (what maxPending limits). */
  pending: number;
  /** Stateless answers remembered for retransmissions (bounded). */
  statelessKept: number;
  /** Final answers sent statelessly (adapter's own answers and the engine's refusals). */
  statelessAnswers: number;
  /** Retransmitted requests answered from that memory. */
  statelessRepeats: number;
  /** New requests refused with 503 because maxPending was reached. */
  overloadRefused: number;
}

export interface ServerSide {
  handleRequest(request: ValidRequest, source: SipEndpoint): void;
  /** Answers a request that failed validation; stateless, a retransmission is simply judged again. */
  reject(raw: RawMessage, topVia: Via, source: SipEndpoint, status: number, reason: string): void;
  respond(command: SendResponseCommand): void;
  /** Sends 100 Trying to a new INVITE whose input is now durable, unless it was answered already. */
  trying(transactionKey: string): void;
  /** Answers a valid request once, keeping nothing (a source over its rate limit on TCP). */
  refuse(request: ValidRequest, source: SipEndpoint, spec: ResponseSpec): void;
  stats(): ServerSideStats;
  sweep(): void;
  stop(): void;
}

interface ServerTransaction {
  key: string;
  request: ValidRequest;
  source: SipEndpoint;
  destination: SipEndpoint;
  /** The To tag we add when the engine gives none (so every response of the transaction agrees). */
  localTag?: string;
  last?: { status: number; data: Buffer };
  retransmission?: Retransmission;
}

/** A final answer sent without a transaction, kept to answer retransmissions with the same bytes. */
interface StatelessAnswer {
  method: string;
  destination: SipEndpoint;
  data: Buffer;
  topVia: Via;
}

/** stateful: a transaction; remembered: stateless, kept in the bounded LRU; once: stateless, kept nowhere. */
type AnswerMode = 'stateful' | 'remembered' | 'once';

export function createServerSide(options: ServerSideOptions): ServerSide {
  const { log, t1Ms } = options;
  const timeoutMs = TRANSACTION_TIMEOUT_FACTOR * t1Ms;
  const maxPending = options.maxPending ?? DEFAULT_MAX_PENDING_SERVER_TRANSACTIONS;
  const transactions = createExpiringMap<ServerTransaction>(options.now);
  /** Keys of the transactions still waiting for a final answer. */
  const pending = new Set<string>();
  const statelessAnswers = createLru<StatelessAnswer>(STATELESS_ANSWERS_KEPT);
  const counters = { statelessAnswers: 0, statelessRepeats: 0, overloadRefused: 0 };
  /** 2xx responses to INVITEs being retransmitted until their ACK, by Call-ID and CSeq number. */
  const awaitingAck = createExpiringMap<Retransmission>(options.now);

  const transient = (key: string, request: ValidRequest, source: SipEndpoint): ServerTransaction => ({
    key,
    request,
    source,
    destination: responseDestination(request.topVia, source),
  });

  const open = (key: string, request: ValidRequest, source: SipEndpoint): ServerTransaction => {
    const transaction = transient(key, request, source);
    // An INVITE may ring for minutes before its final response; anything else is answered quickly.
    const ttl = request.method === 'INVITE' ? PENDING_SERVER_TRANSACTION_MS : timeoutMs;
    pending.add(key);
    transactions.set(key, transaction, ttl, (t) => {
      pending.delete(t.key);
      t.retransmission?.stop();
    });
    return transaction;
  };

  const deliver = (transaction: ServerTransaction) => {
    const input = requestToInput(transaction.request, {
      adapterId: options.adapterId,
      source: transaction.source,
      receivedAt: new Date(options.now()),
      transactionKey: transaction.key,
    });
    options.deliver(input);
  };

  /**
   * Over TCP, when the request's connection is gone, RFC 3261 §18.2.2 says to open a new one to the
   * received address and the sent-by port.
   */
  const send = (destination: SipEndpoint, data: Buffer, via?: Via) =>
    options.send(destination, data, (error) => {
      const fallback: SipEndpoint | undefined =
        via && isStream(destination.transport)
          ? { transport: destination.transport, host: destination.host, port: via.port ?? 5060 }
          : undefined;
      if (fallback && fallback.port !== destination.port) {
        options.send(fallback, data, (again) =>
          log('warn', 'sip response not sent', { error: again.message, destination: fallback }),
        );
        return;
      }
      log('warn', 'sip response not sent', { error: error.message, destination });
    });

  const answer = (transaction: ServerTransaction, spec: ResponseSpec, mode: AnswerMode = 'stateful') => {
    const needsTag = spec.status > 100 && !transaction.request.to.params.tag;
    if (spec.toTag) transaction.localTag = spec.toTag;
    else if (needsTag) transaction.localTag ??= options.newTag();
    const toTag = spec.toTag ?? transaction.localTag;
    const built = buildResponse(transaction.request.raw, transaction.request.topVia, transaction.source, {
      ...spec,
      ...(toTag ? { toTag } : {}),
    });
    if (built.ignoredHeaders.length > 0) {
      log('warn', 'sip response headers ignored (the adapter writes them)', {
        headers: built.ignoredHeaders,
      });
    }
    const data = serializeMessage(built.message);
    if (transaction.destination.transport === 'udp' && data.length > MAX_DATAGRAM_BYTES) {
      // It cannot leave as one datagram (EMSGSIZE), and responses do not switch transport (§18.2.2):
      // a final response becomes 513 Message Too Large, which reflects only the mandatory headers.
      log('warn', 'sip response too large for udp', { status: spec.status, bytes: data.length });
      if (spec.status >= 200 && spec.status !== 513)
        answer(transaction, { status: 513, reason: 'Message Too Large' }, mode);
      return;
    }
    send(transaction.destination, data, transaction.request.topVia);
    transaction.last = { status: spec.status, data };
    if (spec.status < 200) return;
    pending.delete(transaction.key);
    const { method, callId } = transaction.request;
    if (method === 'INVITE' && spec.status < 300) options.dialogs?.confirmed(callId, transaction.destination);
    if (method === 'BYE') options.dialogs?.ended(callId);
    if (mode !== 'stateful') {
      counters.statelessAnswers++;
      transactions.delete(transaction.key);
      if (mode === 'remembered' && data.length <= STATELESS_ANSWER_MAX_BYTES) {
        const { destination, request } = transaction;
        statelessAnswers.set(transaction.key, { method, destination, data, topVia: request.topVia });
      }
      return;
    }

    transactions.expireIn(transaction.key, timeoutMs);
    if (transaction.request.method !== 'INVITE') return;
    const retransmit = {
      send: () => send(transaction.destination, data),
      reliable: isStream(transaction.destination.transport),
      firstIntervalMs: t1Ms,
      capMs: T2_FACTOR * t1Ms,
      deadlineMs: timeoutMs,
    };
    if (spec.status >= 300) {
      transaction.retransmission = startRetransmission(retransmit);
      return;
    }
    const ackKey = inviteAckKey(transaction.request.callId, transaction.request.cseq.seq);
    awaitingAck.get(ackKey)?.stop();
    const retransmission = startRetransmission({
      ...retransmit,
      onDeadline: () => {
        awaitingAck.delete(ackKey);
        log('warn', 'sip 2xx to INVITE never acknowledged', { callId: transaction.request.callId });
      },
    });
    awaitingAck.set(ackKey, retransmission, timeoutMs, (r) => r.stop());
  };

  const handleAck = (request: ValidRequest, source: SipEndpoint, key: string) => {
    // The ACK of a stateless refusal: like the ACK of any failure, it ends there (§17.2.1).
    if (statelessAnswers.get(request.topVia.branch)?.method === 'INVITE') return;
    const invite = transactions.get(request.topVia.branch);
    if (invite?.request.method === 'INVITE' && invite.last && invite.last.status >= 300) {
      // The ACK of a failure belongs to the INVITE transaction (§17.2.1); the engine never sees it.
      invite.retransmission?.stop();
      return;
    }
    const ackKey = inviteAckKey(request.callId, request.cseq.seq);
    awaitingAck.get(ackKey)?.stop();
    awaitingAck.delete(ackKey);
    if (transactions.get(key)) {
      log('info', 'sip ACK retransmission absorbed', { transactionKey: key });
      return;
    }
    const transaction = { key, request, source, destination: responseDestination(request.topVia, source) };
    transactions.set(key, transaction, timeoutMs);
    deliver(transaction);
  };

  return {
    handleRequest(request, source) {
      const key = serverTransactionKey(request.topVia.branch, request.method);
      if (request.method === 'ACK') return handleAck(request, source, key);

      const answered = statelessAnswers.get(key);
      if (answered?.method === request.method) {
        counters.statelessRepeats++;
        send(answered.destination, answered.data, answered.topVia);
        return;
      }
      const existing = transactions.get(key);
      if (existing) {
        if (existing.last) send(existing.destination, existing.last.data, existing.request.topVia);
        // A non-INVITE request is retransmitted until its final answer (§17.1.2.2); without one, the
        // input may never have reached an engine (a bus outage, a crashed engine), so it goes again.
        // The engine knows it by its transaction key: stored once, a repeat only re-sends what was
        // decided. (An INVITE still unanswered is being taken; its 100 follows once it is durable.)
        // An INVITE is delivered again only while nothing answered it: after our 100 it is durable.
        const unanswered =
          request.method === 'INVITE' ? !existing.last : !existing.last || existing.last.status < 200;
        if (!unanswered) {
          log('info', 'sip request retransmission absorbed', { transactionKey: key, method: request.method });
          return;
        }
        log('info', 'sip request retransmission delivered again', {
          transactionKey: key,
          method: request.method,
        });
        deliver(existing);
        return;
      }
      // What the adapter answers itself needs no transaction: the answer is the same every time.
      const own = transient(key, request, source);
      if (!(ALLOWED_METHODS as readonly string[]).includes(request.method)) {
        return answer(own, { status: 405, reason: 'Method Not Allowed' }, 'remembered');
      }
      const refusal = inspectRequest(request);
      if (refusal) return answer(own, refusal, 'remembered');
      if (request.method === 'OPTIONS' && !request.to.params.tag) {
        return answer(
          own,
          { status: 200, reason: 'OK', headers: { Accept: 'application/sdp' } },
          'remembered',
        );
      }
      if (request.method === 'CANCEL') {
        const invite = transactions.get(request.topVia.branch);
        if (invite?.request.method !== 'INVITE') {
          return answer(own, { status: 481, reason: 'Call/Transaction Does Not Exist' }, 'remembered');
        }
        // §9.2: the 200 to the CANCEL carries the To tag of the INVITE's responses.
        if (invite.localTag) own.localTag = invite.localTag;
        // Already answered: the CANCEL has no effect on the INVITE (§9.2), nothing for the engine to do.
        if (invite.last && invite.last.status >= 200)
          return answer(own, { status: 200, reason: 'OK' }, 'remembered');
      } else if (pending.size >= maxPending) {
        // The engine (or the parties it waits for) is not keeping up: refuse now rather than hold more.
        // A CANCEL still goes through, since it ends a pending transaction.
        counters.overloadRefused++;
        return answer(
          own,
          {
            status: 503,
            reason: 'Service Unavailable',
            headers: { 'Retry-After': String(OVERLOAD_RETRY_AFTER_S) },
          },
          'once',
        );
      }
      const transaction = open(key, request, source);
      if (own.localTag) transaction.localTag = own.localTag;
      // No 100 Trying yet: it stops the caller's retransmissions (§17.1.1.2), so it waits until the
      // input is durable (`trying`) or the engine's decision carries one.
      deliver(transaction);
    },

    trying(transactionKey) {
      const transaction = transactions.get(transactionKey);
      if (!transaction || transaction.last || transaction.request.method !== 'INVITE') return;
      answer(transaction, { status: 100, reason: 'Trying' });
    },

    reject(raw, topVia, source, status, reason) {
      if (raw.start.kind === 'request' && raw.start.method === 'ACK') return;
      const built = buildResponse(raw, topVia, source, { status, reason, toTag: options.newTag() });
      const destination = responseDestination(topVia, source);
      const data = serializeMessage(built.message);
      if (destination.transport === 'udp' && data.length > MAX_DATAGRAM_BYTES) {
        log('warn', 'sip response too large for udp', { status, bytes: data.length });
        return;
      }
      send(destination, data, topVia);
    },

    respond(command) {
      const transaction = transactions.get(command.transactionKey);
      if (!transaction) {
        if (statelessAnswers.get(command.transactionKey)) {
          log('info', 'sip repeated response command absorbed', { status: command.status });
          return;
        }
        log('warn', 'sip response for an unknown or expired transaction dropped', {
          transactionKey: command.transactionKey,
          status: command.status,
        });
        return;
      }
      if (transaction.request.method === 'ACK') {
        log('warn', 'sip response to an ACK dropped', { transactionKey: command.transactionKey });
        return;
      }
      if (!Number.isInteger(command.status) || command.status < 100 || command.status > 699) {
        log('warn', 'sip response with an invalid status dropped', { status: command.status });
        return;
      }
      const last = transaction.last;
      if (command.status === 100 && last) {
        // Both the adapter (once the input was durable) and the engine's decision send a 100 Trying;
        // whichever comes second is one too many.
        log('info', 'sip repeated 100 Trying absorbed', { transactionKey: command.transactionKey });
        return;
      }
      if (last && last.status >= 200) {
        // A command repeated (an engine redelivered the input, a bus re-sent the command) sends nothing:
        // the transaction already re-sends its final when the peer retransmits the request (or, for an
        // INVITE, until the ACK), and an unasked-for copy confuses peers. A different final is a bug.
        if (last.status === command.status)
          log('info', 'sip repeated response command absorbed', { status: last.status });
        else log('warn', 'sip transaction already answered; response dropped', { status: command.status });
        return;
      }
      const { method } = transaction.request;
      const stateless =
        command.toTag === STATELESS_TO_TAG &&
        command.status >= (method === 'INVITE' ? 300 : 200) &&
        !transaction.request.to.params.tag;
      answer(transaction, command, stateless ? 'remembered' : 'stateful');
    },

    refuse(request, source, spec) {
      if (request.method === 'ACK') return;
      const key = serverTransactionKey(request.topVia.branch, request.method);
      answer(transient(key, request, source), spec, 'once');
    },

    stats() {
      return {
        transactions: transactions.size,
        pending: pending.size,
        statelessKept: statelessAnswers.size,
        ...counters,
      };
    },

    sweep() {
      transactions.sweep();
      awaitingAck.sweep();
    },
    stop() {
      transactions.clear();
      pending.clear();
      statelessAnswers.clear();
      awaitingAck.clear();
    },
  };
}
