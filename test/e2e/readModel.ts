import { authorizationFor } from '../helpers/apiKeys.ts';

/**
 * The pivot's read side as an API client sees it: GETs on its HTTP API (with the API key the test
 * pivot was started with, test/helpers/apiKeys.ts), and a bounded wait for the projections. They are built from the stored events after the fact, so a test that reads right after
 * the calls ended would race them; it waits until every projection has caught up instead.
 * (No vitest import here: nothing is asserted, a failed read throws.)
 */

// biome-ignore lint/suspicious/noExplicitAny: API resources are checked field by field.
export type Resource = any;

export interface ReadModel {
  /** The resource at `path`; throws with the body unless the answer is 200. */
  get(path: string): Promise<Resource>;
  /**
   * Waits (bounded) until every projection has caught up with the store, `calls` calls are listed and
   * none is still ringing or in progress, and at least `billingLines` lines are billed: then every read
   * model is complete.
   */
  untilEndedAndBilled(expected: { calls: number; billingLines: number }): Promise<void>;
}

export function readModel(httpUrl: string, authorization = authorizationFor(httpUrl)): ReadModel {
  async function get(path: string): Promise<Resource> {
    const response = await fetch(`${httpUrl}${path}`, {
      headers: authorization ? { authorization } : {},
    });
    const body = await response.json();
    if (response.status !== 200) throw new Error(`GET ${path}: ${response.status} ${JSON.stringify(body)}`);
    return body;
  }

  async function caughtUp(done: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const health = await get('/healthz');
      const projections = health.Projections as { Lag: number; Error: string | null }[];
      if (
        projections.length > 0 &&
        projections.every((p) => p.Lag === 0 && p.Error === null) &&
        (await done())
      ) {
        return;
      }
      if (Date.now() > deadline) {
        throw new Error(`projections did not catch up in ${timeoutMs} ms: ${JSON.stringify(health)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  return {
    get,
    untilEndedAndBilled: ({ calls, billingLines }) =>
      caughtUp(async () => {
        const { Calls } = await get('/v1/Calls');
        const { Lines } = await get('/v1/Billing/Lines');
        return (
          Calls.length === calls &&
          Calls.every((c: Resource) => c.Status !== 'ringing' && c.Status !== 'in-progress') &&
          Lines.length >= billingLines
        );
      }),
  };
}

/** A resource Sid: its two-letter kind, then 32 hex digits. */
export const sidPattern = (prefix: string) => new RegExp(`^${prefix}[0-9a-f]{32}$`);

/** Whole seconds from answer to end, a started second counting (the call log's rule). */
export function secondsBetween(from: string, to: string): number {
  return Math.ceil((Date.parse(to) - Date.parse(from)) / 1000);
}

/** The `At` of a call's first stored event of a type, from its `/v1/Calls/{Sid}/Events` resource. */
export function atOf(events: Resource, type: string): string {
  const found = (events.Events as { Type: string; At: string }[]).find((e) => e.Type === type);
  if (!found) throw new Error(`no ${type} in ${events.Events.map((e: { Type: string }) => e.Type)}`);
  return found.At;
}
