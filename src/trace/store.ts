/**
 * The SIP trace store: the messages the adapter received and sent, filed by session, in a SQLite file
 * of their own (read side, not events: they are evidence for people, never input to a machine).
 * Bounded: at most `maxMessagesPerCall` per session, rows older than `retentionDays` are deleted.
 * The SIP path reads a message's first line, Call-ID and CSeq and queues it; the writes are flushed in
 * one transaction per tick, off the path of the message.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from '../log.ts';
import type { SipEndpoint } from '../shared/messages.ts';
import { sessionOfCallId } from '../shared/sessionKeys.ts';
import { summarize } from './wire.ts';

export interface TraceSettings {
  path: string;
  maxMessagesPerCall: number;
  retentionDays: number;
}

export interface TracedMessage {
  id: number;
  sessionSid: string;
  at: string;
  direction: 'in' | 'out';
  transport: string;
  remoteHost: string;
  remotePort: number;
  /** The pivot's address on that message (its public host and SIP port), when the adapter said. */
  localHost: string | null;
  localPort: number | null;
  callId: string;
  cseq: string;
  method: string | null;
  status: number | null;
  firstLine: string;
  text: string;
}

export interface TraceStore {
  /** Queues one message; never throws, never blocks on the disk. */
  record(direction: 'in' | 'out', data: Buffer, remote: SipEndpoint): void;
  /** The address the adapter listens at, written with each message from now on. */
  setLocal(local: { host: string; port: number }): void;
  /** A session's messages in the order they crossed the wire (queued ones first written). */
  messages(sessionSid: string): TracedMessage[];
  readonly maxMessagesPerCall: number;
  /** Writes what is queued and deletes what is past retention. */
  flush(): void;
  prune(now?: number): number;
  close(): void;
}

const FLUSH_MS = 50;
const FLUSH_BATCH = 256;
/** Beyond this many unwritten messages new ones are dropped (the disk is not keeping up). */
const QUEUE_LIMIT = 20_000;
const PRUNE_EVERY_MS = 60 * 60_000;
const DAY_MS = 86_400_000;

/** A message queued for the disk: what it will be stored as, before its row's id and addresses. */
interface Pending
  extends Pick<TracedMessage, 'direction' | 'callId' | 'cseq' | 'method' | 'status' | 'firstLine' | 'text'> {
  session: string;
  atMs: number;
  remote: SipEndpoint;
  local: { host: string; port: number } | undefined;
}

export function openTraceStore(settings: TraceSettings, log: Logger = () => {}): TraceStore {
  if (settings.path !== ':memory:') mkdirSync(dirname(settings.path), { recursive: true });
  const db = new Database(settings.path);
  if (settings.path !== ':memory:') {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
  }
  db.exec(`CREATE TABLE IF NOT EXISTS sip_messages (
    id INTEGER PRIMARY KEY,
    session_sid TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    direction TEXT NOT NULL,
    transport TEXT NOT NULL,
    remote_host TEXT NOT NULL,
    remote_port INTEGER NOT NULL,
    call_id TEXT NOT NULL,
    cseq TEXT NOT NULL,
    method TEXT,
    status INTEGER,
    first_line TEXT NOT NULL,
    text TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS sip_messages_session ON sip_messages (session_sid, id);
  CREATE INDEX IF NOT EXISTS sip_messages_at ON sip_messages (at_ms);`);

  const columns = new Set(
    db
      .prepare<[], { name: string }>('PRAGMA table_info(sip_messages)')
      .all()
      .map((c) => c.name),
  );
  if (!columns.has('local_host')) db.exec('ALTER TABLE sip_messages ADD COLUMN local_host TEXT');
  if (!columns.has('local_port')) db.exec('ALTER TABLE sip_messages ADD COLUMN local_port INTEGER');

  // The cap is checked in SQL so it holds across restarts and across processes sharing the file.
  const insert = db.prepare(`INSERT INTO sip_messages
    (session_sid, at_ms, direction, transport, remote_host, remote_port, local_host, local_port, call_id, cseq, method, status, first_line, text)
    SELECT @session, @atMs, @direction, @transport, @host, @port, @localHost, @localPort, @callId, @cseq, @method, @status, @firstLine, @text
    WHERE (SELECT count(*) FROM sip_messages WHERE session_sid = @session) < @cap`);
  const select = db.prepare<[string], Record<string, unknown>>(
    'SELECT * FROM sip_messages WHERE session_sid = ? ORDER BY id',
  );
  const deleteOld = db.prepare<[number]>('DELETE FROM sip_messages WHERE at_ms < ?');

  let queue: Pending[] = [];
  let local: { host: string; port: number } | undefined;
  let dropped = 0;
  let timer: NodeJS.Timeout | undefined;

  const writeAll = db.transaction((batch: Pending[]) => {
    for (const p of batch) {
      insert.run({
        session: p.session,
        atMs: p.atMs,
        direction: p.direction,
        transport: p.remote.transport,
        host: p.remote.host,
        port: p.remote.port,
        localHost: p.local?.host ?? null,
        localPort: p.local?.port ?? null,
        callId: p.callId,
        cseq: p.cseq,
        method: p.method,
        status: p.status,
        firstLine: p.firstLine,
        text: p.text,
        cap: settings.maxMessagesPerCall,
      });
    }
  });

  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (queue.length === 0) return;
    const batch = queue;
    queue = [];
    try {
      writeAll(batch);
    } catch (error) {
      log('warn', 'sip trace not written', { error: String(error), messages: batch.length });
    }
    if (dropped > 0) {
      log('warn', 'sip trace messages dropped: the trace store is not keeping up', { dropped });
      dropped = 0;
    }
  };

  const prune = (now = Date.now()) => {
    try {
      return deleteOld.run(now - settings.retentionDays * DAY_MS).changes;
    } catch (error) {
      log('warn', 'sip trace retention failed', { error: String(error) });
      return 0;
    }
  };
  prune();
  const pruner = setInterval(() => prune(), PRUNE_EVERY_MS);
  pruner.unref();

  return {
    maxMessagesPerCall: settings.maxMessagesPerCall,
    record(direction, data, remote) {
      try {
        if (queue.length >= QUEUE_LIMIT) {
          dropped++;
          return;
        }
        const summary = summarize(data);
        if (!summary) return;
        queue.push({
          session: sessionOfCallId(summary.callId),
          atMs: Date.now(),
          direction,
          remote: { ...remote },
          local,
          callId: summary.callId,
          cseq: summary.cseq,
          method: summary.method ?? null,
          status: summary.status ?? null,
          firstLine: summary.firstLine,
          text: data.toString('utf8'),
        });
        if (queue.length >= FLUSH_BATCH) flush();
        else timer ??= setTimeout(flush, FLUSH_MS);
      } catch (error) {
        log('warn', 'sip trace record failed', { error: String(error) });
      }
    },
    setLocal(next) {
      local = { ...next };
    },
    messages(sessionSid) {
      flush();
      return select.all(sessionSid).map((row) => ({
        id: row.id as number,
        sessionSid: row.session_sid as string,
        at: new Date(row.at_ms as number).toISOString(),
        direction: row.direction as 'in' | 'out',
        transport: row.transport as string,
        remoteHost: row.remote_host as string,
        remotePort: row.remote_port as number,
        localHost: (row.local_host as string | null) ?? null,
        localPort: (row.local_port as number | null) ?? null,
        callId: row.call_id as string,
        cseq: row.cseq as string,
        method: (row.method as string | null) ?? null,
        status: (row.status as number | null) ?? null,
        firstLine: row.first_line as string,
        text: row.text as string,
      }));
    },
    flush,
    prune,
    close() {
      flush();
      clearInterval(pruner);
      db.close();
    },
  };
}
