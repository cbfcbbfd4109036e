/**
 * Trunks are event-sourced: stream `trunk-<TrunkSid>` holds every change to one trunk, in domain words.
 * Config trunks are seeded as `TrunkCreated` on first start; the HTTP API appends the changes. Each
 * change carries the previous value, so an audit reader sees what changed without folding the stream.
 * This module is pure.
 */
import type { TransferCallerId, TransferMode } from '../../machines/events.ts';
import type { TrunkConfig } from '../config/index.ts';

type TlsClient = NonNullable<TrunkConfig['tlsClient']>;

import type { RecordedEvent } from '../store/port.ts';

interface TrunkEventBase {
  trunkSid: string;
  /** The trunk's name, repeated in every event so a reader needs no lookup. */
  name: string;
  /** ISO-8601, from the clock of the process that made the change. */
  at: string;
  /** Why, when the caller said (API `Reason`). */
  reason?: string;
  /** Who, when the caller said (API `By`). */
  by?: string;
}

export interface TrunkCreated extends TrunkEventBase, TrunkConfig {
  type: 'TrunkCreated';
  /** `config`: seeded from the configuration file on first start; `api`: created through the HTTP API. */
  source: 'config' | 'api';
}

export interface TrunkTransferModeChanged extends TrunkEventBase {
  type: 'TrunkTransferModeChanged';
  transferMode: TransferMode;
  previous: TransferMode;
}

export interface TrunkCallerIdModeChanged extends TrunkEventBase {
  type: 'TrunkCallerIdModeChanged';
  transferCallerId: TransferCallerId;
  previous: TransferCallerId;
}

export interface TrunkAclChanged extends TrunkEventBase {
  type: 'TrunkAclChanged';
  acl: string[];
  previous: string[];
}

export interface TrunkTransferLimitChanged extends TrunkEventBase {
  type: 'TrunkTransferLimitChanged';
  maxTransfersPerCall: number;
  previous: number;
}

/** The client certificate(s) the trunk's PBX must present over TLS; `null`: none asked for. */
export interface TrunkTlsClientChanged extends TrunkEventBase {
  type: 'TrunkTlsClientChanged';
  tlsClient: TlsClient | null;
  previous: TlsClient | null;
}

/** The trunk's calls-per-second limit; `null` is no limit. */
export interface TrunkCpsLimitChanged extends TrunkEventBase {
  type: 'TrunkCpsLimitChanged';
  cpsLimit: number | null;
  previous: number | null;
}

export type TrunkEvent =
  | TrunkCreated
  | TrunkTransferModeChanged
  | TrunkCallerIdModeChanged
  | TrunkAclChanged
  | TrunkTransferLimitChanged
  | TrunkCpsLimitChanged
  | TrunkTlsClientChanged;
export type TrunkEventType = TrunkEvent['type'];

export const TRUNK_EVENT_TYPES: ReadonlySet<string> = new Set<TrunkEventType>([
  'TrunkCreated',
  'TrunkTransferModeChanged',
  'TrunkCallerIdModeChanged',
  'TrunkAclChanged',
  'TrunkTransferLimitChanged',
  'TrunkCpsLimitChanged',
  'TrunkTlsClientChanged',
]);

export const TRUNK_STREAM_PREFIX = 'trunk-';

export function trunkStreamOf(trunkSid: string): string {
  return `${TRUNK_STREAM_PREFIX}${trunkSid}`;
}

export function isTrunkEvent(recorded: RecordedEvent): boolean {
  return recorded.streamName.startsWith(TRUNK_STREAM_PREFIX) && TRUNK_EVENT_TYPES.has(recorded.type);
}

export function trunkEventOf(recorded: RecordedEvent): TrunkEvent {
  return { ...(recorded.data as object), type: recorded.type } as TrunkEvent;
}

/** A trunk as its stream folds: the configuration in force and when it last changed. */
export interface TrunkState {
  sid: string;
  config: TrunkConfig;
  /** Revision of the stream's last event folded in. */
  revision: number;
  createdAt: string;
  updatedAt: string;
  source: TrunkCreated['source'];
}

/** Folds one trunk event; events before a `TrunkCreated` are ignored (there is nothing to change). */
export function evolveTrunk(
  state: TrunkState | undefined,
  event: TrunkEvent,
  revision: number,
): TrunkState | undefined {
  if (event.type === 'TrunkCreated') {
    const { type: _, trunkSid, at, reason: _r, by: _b, source, ...config } = event;
    return { sid: trunkSid, config, revision, createdAt: at, updatedAt: at, source };
  }
  if (!state) return undefined;
  const touched = { ...state, revision, updatedAt: event.at };
  switch (event.type) {
    case 'TrunkTransferModeChanged':
      return { ...touched, config: { ...state.config, transferMode: event.transferMode } };
    case 'TrunkCallerIdModeChanged':
      return { ...touched, config: { ...state.config, transferCallerId: event.transferCallerId } };
    case 'TrunkAclChanged':
      return { ...touched, config: { ...state.config, acl: event.acl } };
    case 'TrunkTransferLimitChanged':
      return { ...touched, config: { ...state.config, maxTransfersPerCall: event.maxTransfersPerCall } };
    case 'TrunkCpsLimitChanged': {
      const { cpsLimit: _, ...rest } = state.config;
      return { ...touched, config: event.cpsLimit === null ? rest : { ...rest, cpsLimit: event.cpsLimit } };
    }
    case 'TrunkTlsClientChanged': {
      const { tlsClient: _, ...rest } = state.config;
      return {
        ...touched,
        config: event.tlsClient === null ? rest : { ...rest, tlsClient: event.tlsClient },
      };
    }
  }
}

/** The changes an update may make through the API; unchanged fields produce no event. */
export interface TrunkChange {
  transferMode?: TransferMode;
  transferCallerId?: TransferCallerId;
  acl?: string[];
  maxTransfersPerCall?: number;
  /** `null` removes the limit. */
  cpsLimit?: number | null;
  /** `null`: the PBX need present no certificate. */
  tlsClient?: TlsClient | null;
}

export interface Attribution {
  reason?: string;
  by?: string;
}

/** The events that take `state` to the requested values: one per field that actually changes. */
export function decideTrunkChange(
  state: TrunkState,
  change: TrunkChange,
  attribution: Attribution,
  at: string,
): TrunkEvent[] {
  const base = {
    trunkSid: state.sid,
    name: state.config.name,
    at,
    ...(attribution.reason ? { reason: attribution.reason } : {}),
    ...(attribution.by ? { by: attribution.by } : {}),
  };
  const events: TrunkEvent[] = [];
  const { config } = state;
  if (change.transferMode !== undefined && change.transferMode !== config.transferMode) {
    events.push({
      type: 'TrunkTransferModeChanged',
      ...base,
      transferMode: change.transferMode,
      previous: config.transferMode,
    });
  }
  if (change.transferCallerId !== undefined && change.transferCallerId !== config.transferCallerId) {
    events.push({
      type: 'TrunkCallerIdModeChanged',
      ...base,
      transferCallerId: change.transferCallerId,
      previous: config.transferCallerId,
    });
  }
  if (change.acl !== undefined && JSON.stringify(change.acl) !== JSON.stringify(config.acl)) {
    events.push({ type: 'TrunkAclChanged', ...base, acl: change.acl, previous: config.acl });
  }
  if (change.maxTransfersPerCall !== undefined && change.maxTransfersPerCall !== config.maxTransfersPerCall) {
    events.push({
      type: 'TrunkTransferLimitChanged',
      ...base,
      maxTransfersPerCall: change.maxTransfersPerCall,
      previous: config.maxTransfersPerCall,
    });
  }
  const previousCps = config.cpsLimit ?? null;
  if (change.cpsLimit !== undefined && change.cpsLimit !== previousCps) {
    events.push({ type: 'TrunkCpsLimitChanged', ...base, cpsLimit: change.cpsLimit, previous: previousCps });
  }
  const previousClient = config.tlsClient ?? null;
  if (change.tlsClient !== undefined && JSON.stringify(change.tlsClient) !== JSON.stringify(previousClient)) {
    events.push({
      type: 'TrunkTlsClientChanged',
      ...base,
      tlsClient: change.tlsClient,
      previous: previousClient,
    });
  }
  return events;
}
