import pg from 'pg';

/**
 * A dedicated connection LISTENing on the store's channel (outside the pool, since a LISTEN lasts as
 * long as its session). Notifications only make live delivery prompt: they are lost while the connection
 * is down, so subscriptions also poll, and every (re)connection counts as a notification to catch up on
 * whatever was missed.
 */
export interface NotificationListener {
  /** Connects on first call; later calls do nothing. */
  start(): void;
  close(): Promise<void>;
}

export interface NotificationListenerOptions {
  url: string;
  channel: string;
  onNotify(): void;
  reconnectDelayMs?: number;
}

export function createNotificationListener(options: NotificationListenerOptions): NotificationListener {
  const { url, channel, onNotify, reconnectDelayMs = 1000 } = options;
  let started = false;
  let closed = false;
  let client: pg.Client | undefined;
  let reconnectTimer: NodeJS.Timeout | undefined;

  const scheduleReconnect = () => {
    if (closed || reconnectTimer) return;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      void connect();
    }, reconnectDelayMs);
    reconnectTimer.unref();
  };

  async function connect(): Promise<void> {
    const current = new pg.Client({ connectionString: url, application_name: 'sip-pivot-listen' });
    client = current;
    let lost = false;
    const onLost = () => {
      if (lost) return;
      lost = true;
      if (client === current) client = undefined;
      scheduleReconnect();
    };
    current.on('error', () => {
      current.end().catch(() => {});
      onLost();
    });
    current.on('end', onLost);
    current.on('notification', () => onNotify());
    try {
      await current.connect();
      await current.query(`LISTEN "${channel}"`);
      if (closed) {
        await current.end();
        return;
      }
      onNotify();
    } catch {
      current.end().catch(() => {});
      onLost();
    }
  }

  return {
    start() {
      if (started || closed) return;
      started = true;
      void connect();
    },
    async close() {
      closed = true;
      clearTimeout(reconnectTimer);
      const current = client;
      client = undefined;
      await current?.end().catch(() => {});
    },
  };
}
