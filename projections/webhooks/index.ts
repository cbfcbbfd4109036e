/** Status callbacks from the config: the webhooks projection and where its dispatcher sends. */
import type { PivotConfig } from '../../src/config/index.ts';
import { trunkSidOf } from '../../src/shared/sids.ts';
import { compileProjection, type Projection } from '../api.ts';
import type { CallbackTarget } from './dispatcher.ts';
import { type CallbackEvent, createWebhookDefinition } from './projection.ts';

export { createWebhookDispatcher, type WebhookDispatcher } from './dispatcher.ts';
export { SIGNATURE_HEADER, signatureOf, verifySignature } from './signature.ts';

export interface StatusCallbacks {
  projection: Projection;
  targetOf(trunkSid: string): CallbackTarget | undefined;
}

/** Undefined when the config has no status callbacks. */
export function statusCallbacksOf(config: Pick<PivotConfig, 'statusCallbacks'>): StatusCallbacks | undefined {
  const callbacks = config.statusCallbacks ?? [];
  if (callbacks.length === 0) return undefined;
  const byTrunk = new Map(callbacks.map((c) => [trunkSidOf(c.trunk), c]));
  const subscriptions = new Map<string, ReadonlySet<CallbackEvent>>(
    [...byTrunk].map(([sid, c]) => [sid, new Set(c.events)]),
  );
  return {
    projection: compileProjection(createWebhookDefinition(subscriptions)),
    targetOf(trunkSid) {
      const callback = byTrunk.get(trunkSid);
      return callback ? { url: callback.url, secret: callback.secret } : undefined;
    },
  };
}
