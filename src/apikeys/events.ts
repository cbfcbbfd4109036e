/**
 * API keys are event-sourced like trunks: stream `apikey-<KeySid>` holds `ApiKeyCreated` and, when it
 * is withdrawn, `ApiKeyRevoked`. Every API process folds them from `$all`, so keys created or revoked
 * by `pivot keys` (or another process) apply everywhere, on every store backend. This module is pure.
 */
import type { RecordedEvent } from '../store/port.ts';
import type { SecretHash } from './secret.ts';

export const API_KEY_ROLES = ['admin', 'read'] as const;
/** `admin`: everything; `read`: GET only. */
export type ApiKeyRole = (typeof API_KEY_ROLES)[number];

export interface ApiKeyCreated {
  type: 'ApiKeyCreated';
  keySid: string;
  role: ApiKeyRole;
  name?: string;
  /** Never the secret itself: it is shown once, when the key is created. */
  secretHash: SecretHash;
  /** ISO-8601, from the clock of the process that created it. */
  at: string;
  /** Who created it (the operating-system user of `pivot keys create`). */
  by?: string;
}

export interface ApiKeyRevoked {
  type: 'ApiKeyRevoked';
  keySid: string;
  at: string;
  by?: string;
}

export type ApiKeyEvent = ApiKeyCreated | ApiKeyRevoked;

export const API_KEY_STREAM_PREFIX = 'apikey-';
const TYPES: ReadonlySet<string> = new Set<ApiKeyEvent['type']>(['ApiKeyCreated', 'ApiKeyRevoked']);

export const apiKeyStreamOf = (keySid: string) => `${API_KEY_STREAM_PREFIX}${keySid}`;

export function isApiKeyEvent(recorded: RecordedEvent): boolean {
  return recorded.streamName.startsWith(API_KEY_STREAM_PREFIX) && TYPES.has(recorded.type);
}

export function apiKeyEventOf(recorded: RecordedEvent): ApiKeyEvent {
  return { ...(recorded.data as object), type: recorded.type } as ApiKeyEvent;
}

export interface ApiKeyState {
  sid: string;
  role: ApiKeyRole;
  name: string | null;
  secretHash: SecretHash;
  createdAt: string;
  revokedAt: string | null;
  revision: number;
}

/** Folds one key event; a revocation before a creation is ignored (there is nothing to revoke). */
export function evolveApiKey(
  state: ApiKeyState | undefined,
  event: ApiKeyEvent,
  revision: number,
): ApiKeyState | undefined {
  if (event.type === 'ApiKeyCreated') {
    return {
      sid: event.keySid,
      role: event.role,
      name: event.name ?? null,
      secretHash: event.secretHash,
      createdAt: event.at,
      revokedAt: null,
      revision,
    };
  }
  if (!state) return undefined;
  return { ...state, revokedAt: state.revokedAt ?? event.at, revision };
}
