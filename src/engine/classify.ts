/**
 * Turns a SIP message into the session input it means, using only the session's own state: which
 * leg a Call-ID belongs to, which machine owns that leg now, which request a response answers
 * (from the deterministic branch). Messages that need no machine get a direct answer or are dropped.
 */
import { createHash } from 'node:crypto';
import { isPlainAck } from '../../machines/call/reapers.ts';
import { MIN_SESSION_EXPIRES, requestedSessionExpires } from '../../machines/call/session-timer.ts';
import type { CallContext } from '../../machines/call/steps.ts';
import {
  type LegDialog,
  type LegName,
  nextRequest,
  outOfOrder,
  parseBranch,
  reInviteChallengeable,
} from '../../machines/dialog.ts';
import type {
  Alternate,
  CallAcked,
  CallReceived,
  PeerAuthorization,
  ReferReceived,
  ReplacedCall,
  ReplacesDialog,
  SessionEvent,
  TransferPolicy,
} from '../../machines/events.ts';
import { sdpSessionId, shortId } from '../../machines/ids.ts';
import { namesDialog, parseReplaces, replacesOf } from '../../machines/replaces.ts';
import { hasSdp } from '../../machines/sdp.ts';
import type { CallSnapshot, SessionState, TransferSnapshot } from '../../machines/session.ts';
import { parseNameAddr, uriHost } from '../../machines/sip-syntax.ts';
import type { PivotConfig, TrunkConfig } from '../config/index.ts';
import type { Located } from '../dns/rfc3263.ts';
import {
  firstHeader,
  type NameAddr,
  type SendRequestCommand,
  type SendResponseCommand,
  type SipInput,
  type SipRequestInput,
  type SipResponseInput,
  type Transport,
} from '../shared/messages.ts';
import { pivotCallId, routingKeyOf } from '../shared/sessionKeys.ts';
import { trunkSidOf } from '../shared/sids.ts';
import { type Credential, challenges, parseDigest, verifyDigest } from './digest.ts';
import { answerChallenge } from './digestClient.ts';
import { originatingCaller, terminatingCaller } from './identity.ts';
import { screenRefer, targetGuards } from './targetGuards.ts';
import { e164Of, endpointOf, type Gateway, gatewayUri, type TrunkDirectory } from './trunks.ts';

export interface ClassifyEnv {
  config: PivotConfig;
  trunks: TrunkDirectory;
  /** Engine clock, ISO-8601. */
  now: string;
  newSid(prefix: 'CA' | 'TR'): string;
  /**
   * The session a REFER's Replaces dialog maps to, read by the engine before classifying (attended
   * transfer): undefined when none was read.
   */
  replacedSession?: SessionState;
  /** Where a transfer target's host name was located, when the engine looked it up for this input. */
  located?: (uri: string) => Located | undefined;
}

export type Classification =
  | { kind: 'input'; event: SessionEvent }
  /** The message is on a far leg this session lent to a transfer of session `sessionSid`: it goes there. */
  | { kind: 'forward'; sessionSid: string; why: string }
  | { kind: 'reply'; command: SendResponseCommand; why: string }
  | { kind: 'ignore'; why: string }
  /** A request sent again as is, apart from what the response asked for (credentials), and not stored. */
  | { kind: 'resend'; command: SendRequestCommand; why: string };

function reply(input: SipRequestInput, status: number, reason: string, why: string): Classification {
  return {
    kind: 'reply',
    why,
    command: {
      kind: 'response',
      adapterId: input.adapterId,
      transactionKey: input.transactionKey,
      status,
      reason,
      toTag: input.to.params.tag ? undefined : 'pv-stateless',
      headers: { Warning: `399 sip-pivot "${why}"` },
    },
  };
}

/**
 * Our Contact; on a TCP or TLS leg it says so, or the peer would send its requests to us over UDP. A TLS
 * leg names the TLS listener's port. A dialog whose Request-URI is `sips:` gets a `sips:` Contact (RFC
 * 3261 §12.1.1, §8.1.1.8), so the peer's requests in it come back over TLS too.
 */
function contactOf(config: PivotConfig, transport: Transport = 'udp', uri?: string): string {
  if (transport === 'tls' && config.sip.tls) {
    if (uri !== undefined && /^sips:/i.test(uri)) {
      return `<sips:pivot@${config.sip.publicHost}:${config.sip.tls.port}>`;
    }
    return `<sip:pivot@${config.sip.publicHost}:${config.sip.tls.port};transport=tls>`;
  }
  const suffix = transport === 'udp' ? '' : ';transport=tcp';
  return `<sip:pivot@${config.sip.publicHost}:${config.sip.port}${suffix}>`;
}

/** The dialog the pivot keeps with a peer that called it, built from the INVITE. */
function inboundLeg(input: SipRequestInput, legId: string, env: ClassifyEnv, sid: string): LegDialog {
  const target = input.contact?.uri ?? input.from.uri;
  return {
    legId,
    callId: input.callId,
    local: { ...input.to, params: { ...input.to.params, tag: `pv${legId}` } },
    remote: input.from,
    localCseq: 0,
    // The INVITE opens the peer's CSeq space in this dialog (RFC 3261 §12.1.1).
    remoteCseq: input.cseq.seq,
    remoteTarget: target,
    routeSet: input.recordRoute,
    // Symmetric signalling: answer the peer where its requests come from (works behind NAT).
    destination: input.source,
    flow: input.source,
    routed: true,
    contact: contactOf(env.config, input.source.transport, input.uri),
    origin: { sessionId: sdpSessionId(sid, 1), version: 0, address: env.config.sip.publicHost },
    pendingInvite: { adapterId: input.adapterId, transactionKey: input.transactionKey },
  };
}

function outboundLeg(
  sid: string,
  legId: string,
  uri: string,
  from: NameAddr,
  destination: LegDialog['destination'],
  env: ClassifyEnv,
): LegDialog {
  return {
    legId,
    callId: pivotCallId(sid, legId, env.config.sip.publicHost),
    local: { ...from, params: { ...from.params, tag: `pv${legId}` } },
    remote: { uri, params: {} },
    localCseq: 0,
    remoteTarget: uri,
    routeSet: [],
    destination,
    routed: true,
    contact: contactOf(env.config, destination.transport, uri),
    origin: { sessionId: sdpSessionId(sid, 2), version: 0, address: env.config.sip.publicHost },
  };
}

/** A new INVITE: termination from a trunk's PBX, or origination from the carrier to a trunk number. */
function newCall(session: SessionState, input: SipRequestInput, env: ClassifyEnv): Classification {
  const sid = session.rootCallSid;
  const id = shortId(sid);
  const called = e164Of(input.uri) ?? e164Of(input.to.uri);
  const base = { callSid: sid, at: env.now, sdp: input.body };
  if (env.trunks.isCarrier(input.source.host)) {
    const trunk = called ? env.trunks.byNumber(called) : undefined;
    if (!trunk || !called) return reply(input, 404, 'Not Found', 'number is not on any trunk');
    const origination = env.trunks.originationOf(trunk);
    if ('unavailable' in origination)
      return reply(input, 503, 'Service Unavailable', origination.unavailable);
    const [{ destination }, ...others] = origination.gateways as [Gateway, ...Gateway[]];
    const uri = trunk.originationUri.replace(/^(sips?:)/, `$1${called}@`).replace(/@([^@]*)@/, '@');
    // The other addresses the origination URI's name stands for, tried in turn on 503 or no answer.
    const alternates = others.map((gateway) => ({ uri, destination: gateway.destination }));
    const caller = originatingCaller(input);
    const event: CallReceived = {
      type: 'CallReceived',
      ...base,
      trunkSid: trunkSidOf(trunk.name),
      trunkName: trunk.name,
      direction: 'trunking-originating',
      from: caller.number,
      to: called,
      inbound: inboundLeg(input, `${id}f`, env, sid),
      outbound: outboundLeg(sid, `${id}c`, uri, caller.from, destination, env),
      ...(alternates.length > 0 ? { alternates } : {}),
      customerLeg: 'outbound',
      outboundUri: uri,
      ...(Object.keys(caller.headers).length > 0 ? { outboundHeaders: caller.headers } : {}),
      ...forwards(input),
    };
    return { kind: 'input', event };
  }
  // Elastic SIP trunks name the trunk by the Request-URI host, then authenticate the source against it.
  const domain = uriHost(input.uri);
  const trunk = domain ? env.trunks.byDomain(domain) : undefined;
  if (!trunk)
    return reply(input, 404, 'Not Found', `no trunk has the termination domain ${domain ?? '(none)'}`);
  if (!env.trunks.admits(trunk, input.source.host)) {
    return reply(input, 403, 'Forbidden', `source address is not in the ACL of trunk ${trunk.name}`);
  }
  const stranger = certificateProblem(input, trunk, env.trunks);
  if (stranger) return reply(input, 403, 'Forbidden', stranger);
  const challenge = authenticate(input, trunk, env);
  if (challenge) return challenge;
  if (!called) return reply(input, 404, 'Not Found', `expected sip:+E164@${trunk.domain}`);
  const unavailable = env.trunks.carrierUnavailable;
  if (unavailable) return reply(input, 503, 'Service Unavailable', unavailable);
  const gateway = env.trunks.carrierGateway;
  const uri = gatewayUri(gateway, called);
  const caller = terminatingCaller(input, trunk, env.config.sip.publicHost);
  const event: CallReceived = {
    type: 'CallReceived',
    ...base,
    trunkSid: trunkSidOf(trunk.name),
    trunkName: trunk.name,
    direction: 'trunking-terminating',
    from: caller.number,
    to: called,
    inbound: inboundLeg(input, `${id}c`, env, sid),
    outbound: outboundLeg(sid, `${id}f`, uri, caller.from, gateway.destination, env),
    ...alternatesFor(called, gateway, env),
    customerLeg: 'inbound',
    outboundUri: uri,
    ...(Object.keys(caller.headers).length > 0 ? { outboundHeaders: caller.headers } : {}),
    ...forwards(input),
  };
  return { kind: 'input', event };
}

/**
 * Why the TLS client certificate (or its absence) does not fit the trunk the Request-URI names, or
 * undefined when it does. A trunk with `tlsClient` takes only its own certificates; a certificate some
 * other trunk lists identifies that trunk's PBX, which may not call on this one.
 */
function certificateProblem(
  input: SipRequestInput,
  trunk: TrunkConfig,
  trunks: TrunkDirectory,
): string | undefined {
  const { certificate } = input;
  if (trunk.tlsClient) {
    if (!certificate) return `trunk ${trunk.name} takes calls only over TLS with its client certificate`;
    if (!trunks.certifies(trunk, certificate)) {
      return `client certificate ${certificate.fingerprint} is not trunk ${trunk.name}'s`;
    }
    return undefined;
  }
  if (!certificate) return undefined;
  const owner = trunks.trunks.find((other) => other !== trunk && trunks.certifies(other, certificate));
  return owner
    ? `client certificate ${certificate.fingerprint} is trunk ${owner.name}'s, not ${trunk.name}'s`
    : undefined;
}

/** The carrier's other gateways for a termination call to `called`, in order. */
function alternatesFor(called: string, primary: Gateway, env: ClassifyEnv): { alternates?: Alternate[] } {
  // An alternate without a contact keeps the leg's current one (machines/call/steps.ts), that is the
  // previous gateway's: name it whenever it differs from that one, not only from the first gateway's.
  let previous = contactOf(env.config, primary.destination.transport, gatewayUri(primary, called));
  const alternates = env.trunks.carrierAlternates.map((gateway) => {
    const uri = gatewayUri(gateway, called);
    const contact = contactOf(env.config, gateway.destination.transport, uri);
    const changed = contact !== previous;
    previous = contact;
    return { uri, destination: gateway.destination, ...(changed ? { contact } : {}) };
  });
  return alternates.length > 0 ? { alternates } : {};
}

/** The outbound INVITE's Max-Forwards: one less than the caller's (the adapter refused 0 with 483). */
function forwards(input: SipRequestInput): { maxForwards?: number } {
  return input.maxForwards === undefined ? {} : { maxForwards: Math.max(0, input.maxForwards - 1) };
}

/**
 * The digest challenge (407) or refusal (403) for a trunk with a credential list, or undefined when the
 * INVITE carries valid credentials or the trunk needs none. Trunking providers challenge INVITEs with
 * 407 Proxy-Authenticate; a PBX that answers with `Authorization` (the 401 form) is accepted too.
 */
function authenticate(
  input: SipRequestInput,
  trunk: TrunkConfig,
  env: ClassifyEnv,
): Classification | undefined {
  if (!trunk.credentialList) return undefined;
  const credentials = env.config.credentialLists?.[trunk.credentialList] ?? [];
  const options = {
    realm: trunk.domain.toLowerCase(),
    secret: nonceSecret(env.config),
    nowSeconds: Math.floor(Date.parse(env.now) / 1000),
  };
  const sent = [...(input.headers['proxy-authorization'] ?? []), ...(input.headers.authorization ?? [])];
  const ours = sent.find((value) => parseDigest(value)?.realm === options.realm);
  let stale = false;
  if (ours) {
    const verdict = verifyDigest(ours, input.method, credentials, options);
    if (verdict.ok) return undefined;
    // A wrong password is refused outright: re-challenging would invite guessing.
    if (!verdict.stale && !/^nonce/.test(verdict.why)) {
      return reply(input, 403, 'Forbidden', `digest authentication failed: ${verdict.why}`);
    }
    stale = verdict.stale;
  }
  const answer = reply(input, 407, 'Proxy Authentication Required', 'credentials required');
  if (answer.kind === 'reply') {
    answer.command.headers = {
      ...answer.command.headers,
      'Proxy-Authenticate': challenges(options, env.config.sip.digestAlgorithms ?? ['MD5'], stale),
    };
  }
  return answer;
}

const nonceSecrets = new WeakMap<PivotConfig, string>();

/**
 * The key nonces are signed with: derived from the credential lists, so every engine reading the same
 * configuration checks the nonces any of them issued, and a changed password retires old nonces.
 */
function nonceSecret(config: PivotConfig): string {
  let secret = nonceSecrets.get(config);
  if (!secret) {
    secret = createHash('sha256')
      .update(`sip-pivot digest nonce\n${JSON.stringify(config.credentialLists ?? {})}`)
      .digest('hex');
    nonceSecrets.set(config, secret);
  }
  return secret;
}

interface LegOwner {
  callSid: string;
  leg: LegName;
  call: CallSnapshot;
  transfer?: TransferSnapshot;
}

function isLive(snapshot: { status: string }): boolean {
  return snapshot.status === 'active';
}

/**
 * The live call (and running transfer) whose leg is the dialog of an in-dialog request. RFC 3261 §12.2.2:
 * a dialog is Call-ID + local tag + remote tag, so the request's To tag must be our tag on that leg and
 * its From tag the peer's; a Call-ID alone matches nothing. `mismatch` says why the Call-ID's legs did not
 * fit, for the 481's log line. With `ignoreToTag`, only Call-ID and From tag count (a CANCEL copies the
 * To of the request it cancels, which for an initial INVITE has no tag).
 */
function ownerOfDialog(
  session: SessionState,
  input: SipRequestInput,
  options: { ignoreToTag?: boolean } = {},
): LegOwner | { mismatch: string } | undefined {
  let mismatch: string | undefined;
  for (const [callSid, call] of Object.entries(session.calls)) {
    if (!isLive(call)) continue;
    for (const [leg, dialog] of Object.entries(call.context.legs)) {
      if (dialog?.callId !== input.callId) continue;
      const toTag = input.to.params.tag;
      const fromTag = input.from.params.tag;
      if (!options.ignoreToTag && toTag !== dialog.local.params.tag) {
        mismatch = toTag ? `To tag ${toTag} is not ours on this dialog` : 'no To tag';
        continue;
      }
      if (!dialog.remote.params.tag || fromTag !== dialog.remote.params.tag) {
        mismatch = `From tag ${fromTag ?? '(none)'} is not the peer's on this dialog`;
        continue;
      }
      const transfer = call.context.activeTransferSid
        ? session.transfers[call.context.activeTransferSid]
        : undefined;
      return { callSid, leg: leg as LegName, call, ...(transfer ? { transfer } : {}) };
    }
  }
  return mismatch === undefined ? undefined : { mismatch };
}

/**
 * A BYE from the far party of another call whose leg is lent to a join of this session (forwarded here
 * by that call's session): the join's target leg is no call's leg until the join completes, so the
 * transfer takes it. Only while the transfer holds the leg (inviting or reconnecting); a BYE out of
 * order (§12.2.2) gets 500 like any other.
 */
function joinTargetHungUp(
  session: SessionState,
  input: SipRequestInput,
  env: ClassifyEnv,
): Classification | undefined {
  for (const transfer of Object.values(session.transfers)) {
    const ctx = transfer.context;
    const target = ctx.target;
    if (!isLive(transfer) || !ctx.join?.handedOver || !target) continue;
    if (transfer.value !== 'inviting' && transfer.value !== 'reconnecting') continue;
    if (
      target.callId !== input.callId ||
      input.to.params.tag !== target.local.params.tag ||
      !target.remote.params.tag ||
      input.from.params.tag !== target.remote.params.tag
    )
      continue;
    const disorder = outOfOrder(target.remoteCseq, input.cseq.seq, input.method);
    if (disorder) return reply(input, 500, 'Server Internal Error', disorder);
    return {
      kind: 'input',
      event: {
        type: 'TargetHungUp',
        callSid: ctx.callSid,
        transferSid: ctx.transferSid,
        at: env.now,
        bye: { adapterId: input.adapterId, transactionKey: input.transactionKey },
        cseq: input.cseq.seq,
      },
    };
  }
  return undefined;
}

/**
 * The remote CSeq of the owner's dialog (RFC 3261 §12.2.2). While a transfer runs it holds its own copy
 * of the customer and far legs and records the requests it takes there; the call's copy records refused
 * REFERs meanwhile. The remote CSeq only grows, so the dialog's is the higher of the two.
 */
function remoteCseqOf(owner: LegOwner): number | undefined {
  const copies = [owner.call.context.legs[owner.leg]];
  const transfer = owner.transfer?.context;
  if (transfer && owner.leg === 'customer') copies.push(transfer.customer);
  if (transfer && owner.leg === 'far') copies.push(transfer.far);
  const known = copies.map((dialog) => dialog?.remoteCseq).filter((seq) => seq !== undefined);
  return known.length > 0 ? Math.max(...known) : undefined;
}

function policyFor(owner: LegOwner, env: ClassifyEnv): TransferPolicy {
  const trunk = env.trunks.trunks.find((t) => t.name === owner.call.context.trunkName);
  return {
    transferMode: trunk?.transferMode ?? 'disable-all',
    transferCallerId: trunk?.transferCallerId ?? 'from-transferee',
    maxTransfersPerCall: trunk?.maxTransfersPerCall ?? 5,
    trunkDomains: env.trunks.domains,
    noAnswerTimeoutSeconds: env.config.transfer.noAnswerTimeoutSeconds,
    byeFallbackSeconds: env.config.transfer.byeFallbackSeconds,
    carrierHost: env.trunks.carrierHost,
    carrierDestination: env.trunks.carrierDestination,
    publicHost: env.config.sip.publicHost,
    contact: contactOf(env.config),
    tcpContact: contactOf(env.config, 'tcp'),
    ...(env.config.sip.tls
      ? {
          tlsContact: contactOf(env.config, 'tls'),
          sipsContact: contactOf(env.config, 'tls', 'sips:'),
        }
      : {}),
    ...(env.trunks.carrierGateway.secure ? { carrierScheme: 'sips' as const } : {}),
    presentIdentity: true,
    holdGlare: 'retry',
    ...targetGuards(env.config, env.trunks),
  };
}

/** What the engine found for a target named by a host name (RFC 3263), as the REFER's event records it. */
function locatedTarget(
  located: Located | undefined,
): Pick<ReferReceived, 'targetDestination' | 'targetAddresses' | 'targetAlternates' | 'targetUnreachable'> {
  if (!located) return {};
  if (!located.ok) return { targetUnreachable: { status: located.status, reason: located.reason } };
  const [first, ...alternates] = located.targets;
  return {
    targetDestination: first!,
    targetAddresses: located.targets.map(({ host, port }) => ({ host, port })),
    ...(alternates.length > 0 ? { targetAlternates: alternates } : {}),
  };
}

function refer(owner: LegOwner, input: SipRequestInput, env: ClassifyEnv): Classification {
  // Control bytes must not reach the store or a machine: such a REFER is refused with them %-escaped.
  const {
    referTo,
    referredBy,
    malformed: badText,
  } = screenRefer(input.headers['refer-to'] ?? [], firstHeader(input, 'referred-by'));
  const replaces = badText ? ({ kind: 'none' } as const) : replacesOf(referTo);
  const malformed = badText ?? (replaces.kind === 'malformed' ? replaces.reason : undefined);
  const elsewhere = replaces.kind === 'replaces' && !isPivotDialog(replaces.dialog.callId, env);
  const join =
    replaces.kind === 'replaces'
      ? {
          replaces: replaces.dialog,
          ...(elsewhere ? { replacesElsewhere: true as const } : replacedCallOf(replaces.dialog, owner, env)),
        }
      : {};
  // The target INVITE goes to the Refer-To URI without its headers (a Replaces elsewhere travels in it).
  let target: string | undefined;
  if (!malformed && replaces.kind === 'replaces' && elsewhere) target = replaces.uri;
  if (!malformed && replaces.kind === 'none' && referTo.length === 1)
    target = parseNameAddr(referTo[0]!)?.uri;
  const destination = target ? endpointOf(target, input.source.transport) : undefined;
  const byName = target && !destination ? locatedTarget(env.located?.(target)) : {};
  const event: ReferReceived = {
    type: 'ReferReceived',
    callSid: owner.callSid,
    transferSid: env.newSid('TR'),
    at: env.now,
    refer: { adapterId: input.adapterId, transactionKey: input.transactionKey },
    leg: owner.leg,
    referTo,
    referSub: (firstHeader(input, 'refer-sub') ?? 'true').trim().toLowerCase() !== 'false',
    cseq: input.cseq.seq,
    policy: policyFor(owner, env),
    childCallSid: env.newSid('CA'),
    ...(referredBy ? { referredBy } : {}),
    ...(destination ? { targetDestination: destination } : {}),
    ...byName,
    ...(malformed ? { malformed } : {}),
    ...join,
  };
  return { kind: 'input', event };
}

/**
 * Whether a Replaces Call-ID is a call through the pivot: one the pivot generated, or one whose session
 * (read by the engine) holds calls. Any other dialog is between the PBX and someone else.
 */
function isPivotDialog(callId: string, env: ClassifyEnv): boolean {
  if (routingKeyOf(callId) !== undefined) return true;
  return Object.keys(env.replacedSession?.calls ?? {}).length > 0;
}

/**
 * The pivot call whose customer leg is the Replaces dialog, in the session the engine read for it, as
 * the REFER's judge needs it; nothing when no call of that session has that dialog.
 */
function replacedCallOf(
  dialog: ReplacesDialog,
  owner: LegOwner,
  env: ClassifyEnv,
): { replaced?: ReplacedCall } {
  const session = env.replacedSession;
  if (!session) return {};
  for (const [callSid, call] of Object.entries(session.calls)) {
    const customer = call.context.legs.customer;
    if (!customer) continue;
    if (!namesDialog(dialog, customer.callId, customer.local.params.tag, customer.remote.params.tag))
      continue;
    const trunk = env.trunks.trunks.find((t) => t.name === call.context.trunkName);
    const own = env.trunks.trunks.find((t) => t.name === owner.call.context.trunkName);
    const pbx = customer.flow?.host ?? customer.destination.host;
    // The same customer: the same trunk, or the replaced call's PBX is one the REFER's trunk admits.
    const sameCustomer =
      call.context.trunkName === owner.call.context.trunkName ||
      (own !== undefined && env.trunks.admits(own, pbx));
    return {
      replaced: {
        sessionSid: session.rootCallSid,
        callSid,
        state: isLive(call) ? String(call.value) : 'ended',
        trunkName: call.context.trunkName,
        transferMode: trunk?.transferMode ?? 'disable-all',
        sameCustomer,
      },
    };
  }
  return {};
}

/**
 * The session a message on a lent far leg goes to (lending.ts): by the request's Call-ID, or by the leg
 * a response's branch names. Kept after the lending call ended: the joined call lives on there.
 */
function lentTo(session: SessionState, match: { callId: string } | { legId: string }): string | undefined {
  for (const call of Object.values(session.calls)) {
    const lent = call.context.lent;
    if (!lent) continue;
    if ('callId' in match ? lent.callId === match.callId : lent.legId === match.legId)
      return lent.toSessionSid;
  }
  return undefined;
}

/**
 * An INVITE with Replaces (RFC 3891 §3), decided in the session of the dialog it names (the engine
 * routes it there): it takes the place of a confirmed leg of a call in progress. A dialog that is
 * unknown, or not confirmed, gets 481; `early-only` for a confirmed one 486; a call busy with another
 * offer or a transfer 491; an INVITE without an offer 488 (the other leg needs one to re-INVITE).
 */
function replacingInvite(
  session: SessionState,
  input: SipRequestInput,
  env: ClassifyEnv,
  value: string,
): Classification {
  const dialog = parseReplaces(value);
  if (!dialog) return reply(input, 400, 'Bad Request', 'malformed Replaces (RFC 3891 §6.1)');
  for (const [callSid, call] of Object.entries(session.calls)) {
    if (!isLive(call)) continue;
    for (const [leg, existing] of Object.entries(call.context.legs)) {
      if (
        !existing ||
        !namesDialog(dialog, existing.callId, existing.local.params.tag, existing.remote.params.tag)
      )
        continue;
      const state = String(call.value);
      if (state === 'ringing') return reply(input, 481, reasonPhrase481, 'the Replaces dialog is early');
      if (dialog.earlyOnly)
        return reply(input, 486, 'Busy Here', 'Replaces is early-only, the dialog is confirmed');
      if (state !== 'inProgress') return reply(input, 491, 'Request Pending', `the call is busy (${state})`);
      if (!hasSdp(input.body))
        return reply(input, 488, 'Not Acceptable Here', 'INVITE with Replaces needs an offer');
      const legId = `${shortId(env.newSid('CA'))}r`;
      return {
        kind: 'input',
        event: {
          type: 'ReplacingInviteReceived',
          callSid,
          at: env.now,
          leg: leg as LegName,
          newLeg: inboundLeg(input, legId, env, callSid),
          sdp: input.body,
        },
      };
    }
  }
  return reply(input, 481, reasonPhrase481, 'Replaces names no dialog of a call in progress');
}

const reasonPhrase481 = 'Call/Transaction Does Not Exist';

/**
 * A tagless INVITE whose Call-ID already has a session: never a new call, since the session (its stream
 * and sid) is derived from the Call-ID. Retransmissions (same branch) never get here: the adapter absorbs
 * them and the engine dedupes by transaction key. So this is another copy of the INVITE (a new branch).
 */
function inviteForExistingSession(session: SessionState, input: SipRequestInput): Classification {
  const live = Object.values(session.calls).some(isLive);
  // RFC 3261 §8.2.2.2: a request without To tag that matches a request in progress on From tag and
  // Call-ID (and CSeq) but not its transaction is a merged request (it forked and came back by another
  // path, or looped): 482. The first INVITE's CSeq is not in older events (newer ones keep it as the
  // inbound leg's remoteCseq), so while the call is live every such copy counts as merged; a new call may
  // not reuse a live call's Call-ID anyway (§8.1.1.4).
  if (live) return reply(input, 482, 'Loop Detected', 'merged request: this Call-ID is a live call');
  // Ended: there is no transaction to merge with and no dialog (481 is for requests inside one), only a
  // Call-ID the UAC must not reuse for a new call (§8.1.1.4, globally unique over time): 400.
  return reply(input, 400, 'Bad Request', 'Call-ID already used by an ended call (RFC 3261 §8.1.1.4)');
}

/**
 * A CANCEL the adapter delivered: its INVITE server transaction exists and has no final response yet
 * (the adapter answers the other cases itself). §9.2: if that INVITE is the ringing call's, cancel it;
 * if it is a re-INVITE the pivot is relaying, answer 200 — the pivot cannot take the relayed offer back
 * from the other leg, so the re-INVITE runs to its own final response ("the UAS MAY", §9.2). 481 otherwise.
 */
function cancel(session: SessionState, input: SipRequestInput, env: ClassifyEnv): Classification {
  // A CANCEL copies the To of its INVITE: tagless for the initial INVITE, our tag for a re-INVITE.
  const owner = ownerOfDialog(session, input, { ignoreToTag: true });
  if (!owner || 'mismatch' in owner) {
    const why = owner ? `no INVITE to cancel: ${owner.mismatch}` : 'no INVITE to cancel';
    return reply(input, 481, 'Call/Transaction Does Not Exist', why);
  }
  const { call } = owner;
  const dialog = call.context.legs[owner.leg]!;
  if (call.value === 'ringing' && owner.leg === call.context.inbound && dialog.pendingInvite) {
    return {
      kind: 'input',
      event: {
        type: 'CallCanceled',
        callSid: owner.callSid,
        at: env.now,
        cancel: { adapterId: input.adapterId, transactionKey: input.transactionKey },
        ...reasonOf(input),
      },
    };
  }
  const toTag = input.to.params.tag;
  if (
    call.value === 'relaying' &&
    call.context.relay?.from === owner.leg &&
    toTag === dialog.local.params.tag
  ) {
    return reply(
      input,
      200,
      'OK',
      're-INVITE is relayed to the other leg and continues to its final response',
    );
  }
  return reply(
    input,
    481,
    'Call/Transaction Does Not Exist',
    `no INVITE to cancel in state ${String(call.value)}`,
  );
}

/**
 * Transfers accepted from here on bridge the target per RFC 3725 (INVITE without SDP, its offer to the
 * transferee, the answer in the target's ACK). Recorded in the REFER's policy, so transfers stored before
 * replay as they ran.
 */
function reconnectPerRfc3725(classified: Classification): Classification {
  if (classified.kind !== 'input' || classified.event.type !== 'ReferReceived') return classified;
  const event = classified.event;
  return { kind: 'input', event: { ...event, policy: { ...event.policy, reconnect: 'rfc3725' } } };
}

/** A new call whose INVITE had no SDP is a delayed offer (RFC 3261 §13.2.1): the call relays it as one. */
function markDelayedOffer(classified: Classification, input: SipRequestInput): Classification {
  if (classified.kind !== 'input' || classified.event.type !== 'CallReceived' || hasSdp(input.body)) {
    return classified;
  }
  return { kind: 'input', event: { ...classified.event, delayedOffer: true } };
}

/**
 * An ACK needs a machine only when it brings the answer to an offer the pivot relayed in its 2xx (the
 * asking leg's INVITE had no SDP): that answer is owed to the offering leg in its ACK; or when it is
 * the first ACK of the 2xx to the caller's INVITE, which stops the ACK timeout (machines/call/reapers.ts).
 * Every other ACK (retransmissions, ACKs of re-INVITEs, an ACK after the call moved on) is dropped, so
 * the stream does not grow per ACK. The adapter has already stopped retransmitting the 2xx.
 */
function ack(session: SessionState, input: SipRequestInput, env: ClassifyEnv): Classification {
  const found = ownerOfDialog(session, input);
  if (!found || 'mismatch' in found) return { kind: 'ignore', why: 'ACK outside a dialog' };
  const acked: CallAcked = {
    type: 'CallAcked',
    callSid: found.callSid,
    at: env.now,
    leg: found.leg,
    cseq: input.cseq.seq,
  };
  if (isPlainAck(found.call.context, acked)) return { kind: 'input', event: acked };
  const waiting = found.call.value === 'confirming' ? found.call.context.awaitingAck : undefined;
  if (waiting?.from !== found.leg) return { kind: 'ignore', why: 'ACK' };
  if (waiting.cseq !== undefined && waiting.cseq !== input.cseq.seq) {
    return { kind: 'ignore', why: `ACK for CSeq ${input.cseq.seq}, not the INVITE awaiting it` };
  }
  return { kind: 'input', event: { ...acked, ...(hasSdp(input.body) ? { sdp: input.body } : {}) } };
}

/** Whether a message's Require names `tag` (option tags compare case-insensitively, RFC 3261 §19.2). */
function requires(input: SipInput, tag: string): boolean {
  return (input.headers.require ?? []).some((value) =>
    value.split(',').some((each) => each.trim().toLowerCase() === tag),
  );
}

/** The RSeq of a reliable provisional response (RFC 3262 §7.1: Require: 100rel and an RSeq), if it is one. */
function reliableRseq(input: SipResponseInput): number | undefined {
  const rseq = /^\s*(\d{1,10})\s*$/.exec(firstHeader(input, 'rseq') ?? '');
  return requires(input, '100rel') && rseq ? Number(rseq[1]) : undefined;
}

/**
 * A PRACK from a peer (RFC 3262 §3). The pivot sends no reliable provisional responses, so there is
 * nothing to acknowledge: while the peer's INVITE is still pending in that dialog the PRACK is answered
 * 200 (harmless, and what a peer that PRACKs anyway expects), otherwise 481 (§7.2: no matching response).
 */
function prack(owner: LegOwner, input: SipRequestInput): Classification {
  const dialog = owner.call.context.legs[owner.leg];
  if (owner.call.value === 'ringing' && owner.leg === owner.call.context.inbound && dialog?.pendingInvite) {
    return reply(input, 200, 'OK', 'PRACK while the INVITE is pending: nothing was sent reliably');
  }
  return reply(input, 481, 'Call/Transaction Does Not Exist', 'no reliable provisional response to PRACK');
}

/**
 * An UPDATE in a confirmed dialog (RFC 3311). With SDP it is an offer: relayed while no other offer is
 * under way, else 491 (§5.2). Without SDP it is a session refresh the call answers itself. While a
 * transfer owns the legs (or before the answer) a refresh is answered 200 here, and an offer gets 491:
 * the transfer is about to re-INVITE that leg itself.
 */
function update(
  owner: LegOwner,
  input: SipRequestInput,
  env: ClassifyEnv,
  sessionExpires: ReturnType<typeof requestedSessionExpires>,
): Classification {
  if (sessionExpires && 'tooSmall' in sessionExpires) return intervalTooSmall(input);
  const state = String(owner.call.value);
  const offer = hasSdp(input.body);
  if (offer && state !== 'inProgress') {
    return reply(input, 491, 'Request Pending', `another offer or a transfer is under way (${state})`);
  }
  if (!offer && !BRIDGED.has(state)) {
    return reply(input, 200, 'OK', `UPDATE without SDP in state ${state}: nothing to change`);
  }
  return {
    kind: 'input',
    event: {
      type: 'UpdateReceived',
      callSid: owner.callSid,
      at: env.now,
      leg: owner.leg,
      update: { adapterId: input.adapterId, transactionKey: input.transactionKey },
      ...(offer ? { sdp: input.body } : {}),
      cseq: input.cseq.seq,
      ...(sessionExpires ? { sessionExpires: sessionExpires.seconds } : {}),
    },
  };
}

/** RFC 4028 §8.1: a session interval below ours is refused, naming our minimum. */
function intervalTooSmall(input: SipRequestInput): Classification {
  const answer = reply(
    input,
    422,
    'Session Interval Too Small',
    `Session-Expires below ${MIN_SESSION_EXPIRES} s`,
  );
  if (answer.kind === 'reply') {
    answer.command.headers = { ...answer.command.headers, 'Min-SE': String(MIN_SESSION_EXPIRES) };
  }
  return answer;
}

/** States in which both legs are the call's own, so an in-dialog request can be relayed across. */
const BRIDGED = new Set(['inProgress', 'relaying', 'confirming', 'updating']);

/**
 * An INFO (RFC 6086) is relayed to the other leg while the call bridges both. Otherwise it is answered
 * 200 here and dropped: during a transfer the far party is on hold or being connected to the target, so
 * a key press has nobody to act on it, and the transfer machine owns the legs' CSeqs then (a request
 * the call sent meanwhile would collide with the transfer's); after a hand-off, or before the answer,
 * there is no other leg in this call. A 200 rather than an error keeps PBXs from tearing the call down
 * or falling back to in-band DTMF mid-transfer.
 */
function info(owner: LegOwner, input: SipRequestInput, env: ClassifyEnv): Classification {
  if (!BRIDGED.has(String(owner.call.value))) {
    return reply(input, 200, 'OK', `INFO in state ${String(owner.call.value)} is not relayed`);
  }
  const contentType = firstHeader(input, 'content-type');
  const infoPackage = firstHeader(input, 'info-package');
  return {
    kind: 'input',
    event: {
      type: 'InfoReceived',
      callSid: owner.callSid,
      at: env.now,
      leg: owner.leg,
      info: { adapterId: input.adapterId, transactionKey: input.transactionKey },
      ...(input.body ? { body: input.body, ...(contentType ? { contentType } : {}) } : {}),
      ...(infoPackage ? { infoPackage } : {}),
      cseq: input.cseq.seq,
    },
  };
}

function request(session: SessionState, input: SipRequestInput, env: ClassifyEnv): Classification {
  const hasCall = Object.keys(session.calls).length > 0;
  const sessionExpires =
    input.method === 'INVITE' || input.method === 'UPDATE'
      ? requestedSessionExpires(input.headers)
      : undefined;
  if (input.method === 'INVITE' && !input.to.params.tag) {
    const replaces = input.headers.replaces?.[0];
    if (replaces !== undefined) return replacingInvite(session, input, env, replaces);
    if (hasCall) return inviteForExistingSession(session, input);
    const call = markDelayedOffer(newCall(session, input, env), input);
    // Only a call the pivot would take (trunk, ACL and credentials checked) hears about our minimum.
    if (call.kind !== 'input' || call.event.type !== 'CallReceived') return call;
    if (sessionExpires && 'tooSmall' in sessionExpires) return intervalTooSmall(input);
    const event = {
      ...call.event,
      ...(sessionExpires ? { sessionExpires: sessionExpires.seconds } : {}),
      ...(requires(input, '100rel') ? { requires100rel: true } : {}),
    };
    return { kind: 'input', event };
  }
  const lent = lentTo(session, { callId: input.callId });
  if (lent && lent !== session.rootCallSid) {
    return { kind: 'forward', sessionSid: lent, why: `${input.method} on a far leg lent to session ${lent}` };
  }
  if (input.method === 'ACK') return ack(session, input, env);
  if (input.method === 'CANCEL') return cancel(session, input, env);
  const found = ownerOfDialog(session, input);
  if (!found || 'mismatch' in found) {
    const hungUp = input.method === 'BYE' ? joinTargetHungUp(session, input, env) : undefined;
    if (hungUp) return hungUp;
  }
  if (!found) return reply(input, 481, 'Call/Transaction Does Not Exist', 'no such dialog');
  // §12.2.2: the Call-ID is known but the tags are not this dialog's: 481, nothing changes.
  if ('mismatch' in found)
    return reply(input, 481, 'Call/Transaction Does Not Exist', `no such dialog: ${found.mismatch}`);
  const owner = found;
  // §12.2.2: a request below (or at) the dialog's last remote CSeq is out of order: 500, nothing changes.
  // ACK and CANCEL, which carry their INVITE's CSeq, were handled above.
  const disorder = outOfOrder(remoteCseqOf(owner), input.cseq.seq, input.method);
  if (disorder) return reply(input, 500, 'Server Internal Error', disorder);
  const transaction = { adapterId: input.adapterId, transactionKey: input.transactionKey };
  const cseq = input.cseq.seq;
  if (input.method === 'INVITE') {
    // RFC 3261 §14.2: a re-INVITE while another offer/answer is under way gets 491, the peer retries.
    if (owner.call.value !== 'inProgress')
      return reply(input, 491, 'Request Pending', 'another re-INVITE or a transfer is under way');
    if (sessionExpires && 'tooSmall' in sessionExpires) return intervalTooSmall(input);
    return {
      kind: 'input',
      event: {
        type: 'ReInviteReceived',
        callSid: owner.callSid,
        at: env.now,
        leg: owner.leg,
        reinvite: transaction,
        sdp: input.body,
        ...(hasSdp(input.body) ? {} : { offerless: true }),
        cseq,
        ...(sessionExpires ? { sessionExpires: sessionExpires.seconds } : {}),
      },
    };
  }
  switch (input.method) {
    case 'BYE': {
      const transferSid = owner.transfer?.context.transferSid;
      if (transferSid && owner.leg === 'customer') {
        return {
          kind: 'input',
          event: {
            type: 'TransferorHungUp',
            callSid: owner.callSid,
            transferSid,
            at: env.now,
            bye: transaction,
            cseq,
          },
        };
      }
      if (transferSid && owner.leg === 'far') {
        return {
          kind: 'input',
          event: {
            type: 'TransfereeHungUp',
            callSid: owner.callSid,
            transferSid,
            at: env.now,
            bye: transaction,
            cseq,
          },
        };
      }
      return {
        kind: 'input',
        event: {
          type: 'HangupReceived',
          callSid: owner.callSid,
          at: env.now,
          leg: owner.leg,
          bye: transaction,
          cseq,
          ...reasonOf(input),
        },
      };
    }
    case 'REFER':
      return reconnectPerRfc3725(refer(owner, input, env));
    case 'INFO':
      return info(owner, input, env);
    case 'PRACK':
      return prack(owner, input);
    case 'UPDATE':
      return update(owner, input, env, sessionExpires);
    case 'OPTIONS':
    case 'NOTIFY':
      return reply(input, 200, 'OK', `in-dialog ${input.method}`);
    default:
      return reply(input, 501, 'Not Implemented', `${input.method} inside a dialog is not supported`);
  }
}

function response(session: SessionState, input: SipResponseInput, env: ClassifyEnv): Classification {
  const branch = parseBranch(input.transactionKey);
  if (!branch) return { kind: 'ignore', why: 'response to a request the pivot did not send' };
  const { legId, method } = branch;
  if (input.status < 101) return { kind: 'ignore', why: '100 Trying' };
  const lent = lentTo(session, { legId });
  if (lent && lent !== session.rootCallSid) {
    return { kind: 'forward', sessionSid: lent, why: `response on a far leg lent to session ${lent}` };
  }
  // A CANCEL carries its INVITE's branch: its 200 must not pass for the INVITE being answered.
  if (input.cseq.method === 'CANCEL') return { kind: 'ignore', why: 'response to CANCEL' };
  const base = { at: env.now, status: input.status, reason: input.reason };
  const answer = {
    ...(input.body ? { sdp: input.body } : {}),
    ...(input.to.params.tag ? { remoteTag: input.to.params.tag } : {}),
    ...(input.contact ? { remoteTarget: input.contact.uri } : {}),
    routeSet: [...input.recordRoute].reverse(),
  };
  // Responses on a transfer's legs go to the transfer that sent the request.
  for (const transfer of Object.values(session.transfers)) {
    if (!isLive(transfer)) continue;
    const ctx = transfer.context;
    const ids = { callSid: ctx.callSid, transferSid: ctx.transferSid };
    const state = transfer.value;
    if (ctx.target?.legId === legId && method === 'invite') {
      const type =
        input.status < 200 ? 'TargetRinging' : input.status < 300 ? 'TargetAnswered' : 'TargetFailed';
      // A PSTN target is called at the carrier, which may authenticate us; a SIP target gets no credentials.
      const credential = ctx.targetKind === 'pstn' ? env.config.carrier.credentials : undefined;
      const authorization =
        (input.status === 401 || input.status === 407) && credential && !ctx.targetAuthorized
          ? answerChallenge(input.status, input.headers, 'INVITE', ctx.target.remoteTarget, credential)
          : undefined;
      return {
        kind: 'input',
        event: { type, ...ids, ...base, ...answer, ...(authorization ? { authorization } : {}) },
      };
    }
    if (ctx.far?.legId === legId && method === 'invite') {
      if (input.status < 200) return { kind: 'ignore', why: 'provisional response to a re-INVITE' };
      const ok = input.status < 300;
      const authorization = reInviteAuthorization(ctx.far, input, env.config.carrier.credentials);
      const type =
        state === 'holding'
          ? ok
            ? 'TransfereeHeld'
            : 'HoldRefused'
          : state === 'reconnecting'
            ? 'TransfereeReconnected'
            : 'TransfereeResumed';
      return {
        kind: 'input',
        event: { type, ...ids, ...base, ...answer, ...(authorization ? { authorization } : {}) },
      };
    }
    if (ctx.customer?.legId === legId && method === 'notify') {
      return { kind: 'input', event: { type: 'NotifyAnswered', ...ids, ...base } };
    }
  }
  if (method === 'info') return infoAnswered(session, input, env, legId);
  if (method === 'update') return updateAnswered(session, input, env, legId);
  if (method === 'bye' && (input.status === 401 || input.status === 407)) {
    return byeChallenged(session, input, env, legId);
  }
  if (method !== 'invite') return { kind: 'ignore', why: `response to ${method.toUpperCase()}` };
  for (const [callSid, call] of Object.entries(session.calls)) {
    const relay = call.value === 'relaying' || call.value === 'replacing' ? call.context.relay : undefined;
    if (!relay || call.context.legs[relay.to]?.legId !== legId) continue;
    if (input.status < 200) return { kind: 'ignore', why: 'provisional response to a relayed re-INVITE' };
    const authorization = reInviteAuthorization(
      call.context.legs[relay.to]!,
      input,
      legCredential(call.context, relay.to, env),
    );
    return {
      kind: 'input',
      event: {
        type: 'ReInviteAnswered',
        callSid,
        ...base,
        ...(input.body ? { sdp: input.body } : {}),
        ...(authorization ? { authorization } : {}),
      },
    };
  }
  for (const [callSid, call] of Object.entries(session.calls)) {
    if (call.context.legs[call.context.outbound]?.legId !== legId) continue;
    if (input.status < 200) {
      const rseq = reliableRseq(input);
      const tag = input.to.params.tag;
      const pracked = rseq !== undefined && tag !== undefined ? call.context.prackedRseq?.[tag] : undefined;
      // A retransmission of a reliable provisional already PRACKed: the PRACK's own transaction resends it.
      if (rseq !== undefined && pracked !== undefined && rseq <= pracked) {
        return { kind: 'ignore', why: `reliable provisional RSeq ${rseq} already PRACKed` };
      }
      const event = { type: 'CallProgress' as const, callSid, ...base, ...answer };
      return { kind: 'input', event: rseq === undefined ? event : { ...event, rseq } };
    }
    if (input.status < 300) {
      return {
        kind: 'input',
        event: {
          type: 'CallAnswered',
          callSid,
          at: env.now,
          remoteTag: input.to.params.tag ?? '',
          remoteTarget: input.contact?.uri ?? call.context.legs[call.context.outbound]!.remoteTarget,
          routeSet: answer.routeSet,
          sdp: input.body,
        },
      };
    }
    const retryable = input.status === 503 || input.headers['x-pivot-generated'] !== undefined;
    const outbound = call.context.legs[call.context.outbound]!;
    const credential =
      call.context.direction === 'trunking-terminating'
        ? env.config.carrier.credentials
        : env.config.originationCredentials?.[call.context.trunkName];
    const authorization =
      (input.status === 401 || input.status === 407) && credential && !call.context.inviteAuthorized
        ? answerChallenge(input.status, input.headers, 'INVITE', outbound.remoteTarget, credential)
        : undefined;
    return {
      kind: 'input',
      event: {
        type: 'CallRejected',
        callSid,
        ...base,
        ...(retryable ? { retryable } : {}),
        ...reasonOf(input),
        ...(authorization ? { authorization } : {}),
      },
    };
  }
  return { kind: 'ignore', why: 'response for an unknown leg' };
}

/**
 * A BYE the peer challenged (RFC 3261 §22.2): sent once more, with credentials, at the next CSeq. The
 * far leg is the carrier's; the customer leg of an origination call is the trunk's origination PBX.
 * The stored dialog keeps the first BYE's CSeq, so a challenge to the second one is recognised and left.
 */
function byeChallenged(
  session: SessionState,
  input: SipResponseInput,
  env: ClassifyEnv,
  legId: string,
): Classification {
  for (const call of Object.values(session.calls)) {
    for (const [name, dialog] of Object.entries(call.context.legs)) {
      if (dialog?.legId !== legId) continue;
      if (input.cseq.seq > dialog.localCseq)
        return { kind: 'ignore', why: 'BYE with credentials challenged again' };
      const credential = legCredential(call.context, name, env);
      if (!credential) return { kind: 'ignore', why: `BYE challenged (${input.status}), no credentials` };
      const [, bye] = nextRequest(dialog, 'BYE');
      const authorization = answerChallenge(input.status, input.headers, 'BYE', bye.uri, credential);
      if (!authorization) return { kind: 'ignore', why: 'BYE challenged with no digest we support' };
      bye.headers = { [authorization.header]: authorization.value };
      return {
        kind: 'resend',
        command: bye,
        why: `BYE challenged (${input.status}): sent again with credentials`,
      };
    }
  }
  return { kind: 'ignore', why: 'response to BYE for an unknown leg' };
}

/**
 * What the pivot answers a challenge on a call's leg with: the far leg is the carrier's; the customer leg
 * of an origination call is the trunk's origination PBX; other peers get no credentials.
 */
function legCredential(context: CallContext, name: string, env: ClassifyEnv): Credential | undefined {
  if (name === 'far') return env.config.carrier.credentials;
  return context.direction === 'trunking-originating'
    ? env.config.originationCredentials?.[context.trunkName]
    : undefined;
}

/** Credentials for the first 401/407 to a leg's last re-INVITE, when the pivot has some for that peer. */
function reInviteAuthorization(
  dialog: LegDialog,
  input: SipResponseInput,
  credential: Credential | undefined,
): PeerAuthorization | undefined {
  if ((input.status !== 401 && input.status !== 407) || !credential) return undefined;
  if (!reInviteChallengeable(dialog, input.cseq.seq)) return undefined;
  return answerChallenge(input.status, input.headers, 'INVITE', dialog.remoteTarget, credential);
}

/** The Reason header (RFC 3326) of a BYE, CANCEL or final response, to relay to the other leg. */
function reasonOf(input: SipInput): { reasonHeader?: string } {
  const values = input.headers.reason;
  return values && values.length > 0 ? { reasonHeader: values.join(', ') } : {};
}

/**
 * The final response to an INFO the pivot relayed (the adapter's own 408 on a timeout included): for
 * the call that still waits for it, so it goes back to the leg that sent the INFO.
 */
function infoAnswered(
  session: SessionState,
  input: SipResponseInput,
  env: ClassifyEnv,
  legId: string,
): Classification {
  if (input.status < 200) return { kind: 'ignore', why: 'provisional response to a relayed INFO' };
  for (const [callSid, call] of Object.entries(session.calls)) {
    if (!isLive(call)) continue;
    const sent = call.context.infos?.find(
      (info) => call.context.legs[info.to]?.legId === legId && info.cseq === input.cseq.seq,
    );
    if (!sent) continue;
    return {
      kind: 'input',
      event: {
        type: 'InfoAnswered',
        callSid,
        at: env.now,
        leg: sent.to,
        cseq: sent.cseq,
        status: input.status,
        reason: input.reason,
      },
    };
  }
  return { kind: 'ignore', why: 'response to an INFO no call waits for' };
}

/** The final response to the UPDATE offer a call relayed. */
function updateAnswered(
  session: SessionState,
  input: SipResponseInput,
  env: ClassifyEnv,
  legId: string,
): Classification {
  if (input.status < 200) return { kind: 'ignore', why: 'provisional response to a relayed UPDATE' };
  for (const [callSid, call] of Object.entries(session.calls)) {
    const pending = call.value === 'updating' ? call.context.update : undefined;
    if (!pending || call.context.legs[pending.to]?.legId !== legId || pending.cseq !== input.cseq.seq)
      continue;
    return {
      kind: 'input',
      event: {
        type: 'UpdateAnswered',
        callSid,
        at: env.now,
        status: input.status,
        reason: input.reason,
        ...(input.body ? { sdp: input.body } : {}),
      },
    };
  }
  return { kind: 'ignore', why: 'response to an UPDATE no call waits for' };
}

export function classify(session: SessionState, input: SipInput, env: ClassifyEnv): Classification {
  const redirected = session.redirects?.[input.callId];
  if (redirected && redirected !== session.rootCallSid) {
    return { kind: 'forward', sessionSid: redirected, why: `dialog ${input.callId} replaced a leg there` };
  }
  return input.kind === 'request' ? request(session, input, env) : response(session, input, env);
}
