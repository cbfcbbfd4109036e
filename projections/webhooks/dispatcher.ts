/**
 * Delivers the status callbacks the webhooks projection queued (projection.ts): each `webhook_outbox`
 * row becomes one `webhook_deliveries` row (the delivery log, `GET /v1/StatusCallbacks/Deliveries`),
 * POSTed to the trunk's URL with the body signed (signature.ts), retried with exponential back-off
 * until a 2xx or `maxAttempts`.
 *
 * The delivery log is keyed by (position, event, trunk) and is not a projection table: rebuilding the
 * webhooks projection queues every callback again, and the log, which survives the rebuild, tells the
 * dispatcher they were handled already. Callbacks for events older than `maxAgeMs` when first seen
 * (history replayed the first time a callback is configured) are logged as `expired`, not sent.
 */
import type { Database } from 'better-sqlite3';
import { type Logger, silentLogger } from '../../src/log.ts';
import { type Backoff, backoffMs } from '../../src/shared/backoff.ts';
import { SIGNATURE_HEADER, signatureOf } from './signature.ts';

export interface CallbackTarget {
  url: string;
  secret: string;
}

export interface WebhookDispatcherOptions {
  db: Database;
  /** The URL and secret of a trunk's callback, read at each attempt (so a new secret applies at once). */
  targetOf(trunkSid: string): CallbackTarget | undefined;
  log?: Logger;
  /** Attempts before a delivery is given up (`failed`). Default 8. */
  maxAttempts?: number;
  /** Wait before the first retry; doubles per attempt up to `maxRetryDelayMs`. Default 1 s. */
  firstRetryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** One attempt's time limit. Default 10 s. */
  timeoutMs?: number;
  /** Deliveries in flight at once. Default 4. */
  concurrency?: number;
  /** Events older than this when first queued are not sent. Default 24 h. */
  maxAgeMs?: number;
  now?: () => number;
}

export interface WebhookDispatcher {
  /** Sends what is due now, then keeps going (retries wake it up) until `stop()`. */
  start(): void;
  /** New rows in the outbox: send them now (the runner calls it after each batch). */
  kick(): void;
  stop(): Promise<void>;
}

const DELIVERIES = `
CREATE TABLE IF NOT EXISTS webhook_deliveries (
  sid             INTEGER PRIMARY KEY AUTOINCREMENT,
  position        INTEGER NOT NULL,  -- the event's $all position
  event           TEXT    NOT NULL,
  trunk_sid       TEXT    NOT NULL,
  call_sid        TEXT    NOT NULL,
  body            TEXT    NOT NULL,
  event_at        TEXT    NOT NULL,
  state           TEXT    NOT NULL,  -- pending | delivered | failed | expired
  attempts        INTEGER NOT NULL DEFAULT 0,
  last_status     INTEGER,           -- HTTP status of the last attempt
  last_error      TEXT,
  queued_at       TEXT    NOT NULL,
  next_attempt_at INTEGER,           -- epoch ms, while pending
  delivered_at    TEXT,
  UNIQUE (position, event, trunk_sid)
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX IF NOT EXISTS webhook_deliveries_by_call ON webhook_deliveries (call_sid, sid);
`;

interface Due {
  sid: number;
  event: string;
  trunk_sid: string;
  body: string;
  attempts: number;
}

export function createWebhookDispatcher(options: WebhookDispatcherOptions): WebhookDispatcher {
  const { db } = options;
  const log = options.log ?? silentLogger;
  const now = options.now ?? Date.now;
  const maxAttempts = options.maxAttempts ?? 8;
  const retryBackoff: Backoff = {
    first: options.firstRetryDelayMs ?? 1_000,
    max: options.maxRetryDelayMs ?? 300_000,
  };
  const timeoutMs = options.timeoutMs ?? 10_000;
  const concurrency = options.concurrency ?? 4;
  const maxAgeMs = options.maxAgeMs ?? 24 * 3_600_000;

  db.exec(DELIVERIES);
  const hasOutbox = () =>
    db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'webhook_outbox'").get() !==
    undefined;
  const claim = db.transaction((at: number) => {
    if (!hasOutbox()) return;
    const queuedAt = new Date(at).toISOString();
    const oldest = new Date(at - maxAgeMs).toISOString();
    db.prepare(
      `INSERT OR IGNORE INTO webhook_deliveries (position, event, trunk_sid, call_sid, body, event_at, state,
         queued_at, next_attempt_at)
       SELECT position, event, trunk_sid, call_sid, body, json_extract(body, '$.Timestamp'),
         CASE WHEN json_extract(body, '$.Timestamp') < ? THEN 'expired' ELSE 'pending' END, ?, ?
       FROM webhook_outbox ORDER BY position`,
    ).run(oldest, queuedAt, at);
    db.prepare('DELETE FROM webhook_outbox').run();
  });
  const due = db.prepare<[number, number], Due>(
    `SELECT sid, event, trunk_sid, body, attempts FROM webhook_deliveries
     WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY sid LIMIT ?`,
  );
  const nextDue = db.prepare<[], { at: number | null }>(
    "SELECT min(next_attempt_at) AS at FROM webhook_deliveries WHERE state = 'pending'",
  );
  const taken = db.prepare('UPDATE webhook_deliveries SET next_attempt_at = NULL WHERE sid = ?');
  const delivered = db.prepare(
    `UPDATE webhook_deliveries SET state = 'delivered', attempts = ?, last_status = ?, last_error = NULL,
       delivered_at = ?, next_attempt_at = NULL WHERE sid = ?`,
  );
  const retry = db.prepare(
    `UPDATE webhook_deliveries SET state = ?, attempts = ?, last_status = ?, last_error = ?, next_attempt_at = ?
     WHERE sid = ?`,
  );

  let stopped = true;
  let inFlight = 0;
  const running = new Set<Promise<void>>();
  let timer: NodeJS.Timeout | undefined;

  async function attempt(row: Due): Promise<void> {
    const attempts = row.attempts + 1;
    const target = options.targetOf(row.trunk_sid);
    let status: number | null = null;
    let error: string | null = null;
    if (!target) {
      error = 'no status callback configured for the trunk';
    } else {
      try {
        const response = await fetch(target.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'sip-pivot',
            [SIGNATURE_HEADER]: signatureOf(target.secret, row.body),
            'x-pivot-event': row.event,
            'x-pivot-delivery': String(row.sid),
          },
          body: row.body,
          signal: AbortSignal.timeout(timeoutMs),
        });
        status = response.status;
        await response.arrayBuffer().catch(() => undefined);
        if (response.ok) {
          delivered.run(attempts, status, new Date(now()).toISOString(), row.sid);
          return;
        }
        error = `HTTP ${status}`;
      } catch (thrown) {
        error = (thrown as Error).message;
      }
    }
    const giveUp = attempts >= maxAttempts;
    const delay = backoffMs(attempts - 1, retryBackoff);
    retry.run(giveUp ? 'failed' : 'pending', attempts, status, error, giveUp ? null : now() + delay, row.sid);
    if (giveUp) log('warn', 'status callback given up', { delivery: row.sid, trunk: row.trunk_sid, error });
  }

  function pump(): void {
    if (stopped) return;
    clearTimeout(timer);
    timer = undefined;
    try {
      claim.immediate(now());
      while (inFlight < concurrency) {
        const rows = due.all(now(), concurrency - inFlight);
        if (rows.length === 0) break;
        for (const row of rows) {
          taken.run(row.sid);
          inFlight++;
          const work = attempt(row).finally(() => {
            inFlight--;
            running.delete(work);
            pump();
          });
          running.add(work);
        }
      }
    } catch (thrown) {
      log('error', 'status callbacks: dispatch failed', { error: String(thrown) });
    }
    // Sleep until the next retry is due (kick() wakes it sooner when events arrive).
    const next = nextDue.get()?.at;
    if (next !== null && next !== undefined && inFlight < concurrency) {
      timer = setTimeout(pump, Math.max(0, next - now()));
    }
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      // Attempts a stopped process left in flight are due again.
      db.prepare(
        "UPDATE webhook_deliveries SET next_attempt_at = ? WHERE state = 'pending' AND next_attempt_at IS NULL",
      ).run(now());
      pump();
    },
    kick() {
      if (inFlight < concurrency) pump();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await Promise.allSettled([...running]);
    },
  };
}
