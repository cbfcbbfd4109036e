/**
 * Says plainly when the data on screen may be stale: the API does not answer, or a read model is behind
 * the event store (its lag in events) or stopped on an error. Reads the open /healthz.
 */
import { useEffect, useState } from 'preact/hooks';
import { connection, request } from './api.ts';
import { html } from './html.ts';
import type { Health } from './types.ts';

const POLL_MS = 4000;

export function Banner() {
  const [reachable, setReachable] = useState(connection.reachable);
  const [lagging, setLagging] = useState<string | null>(null);
  useEffect(() => {
    const changed = () => setReachable(connection.reachable);
    connection.listeners.add(changed);
    // A projection a few events behind while calls run is normal; one behind twice in a row is news.
    let behind = new Set<string>();
    const check = () =>
      request<Health>('/healthz').then(
        (health) => {
          const errors = health.Projections.filter((p) => p.Error);
          const late = health.Projections.filter((p) => p.Lag > 0);
          const still = late.filter((p) => behind.has(p.Name));
          behind = new Set(late.map((p) => p.Name));
          if (errors.length > 0)
            setLagging(
              `Read model ${errors[0]!.Name} stopped: ${errors[0]!.Error}. Lists may be out of date.`,
            );
          else if (still.length > 0)
            setLagging(
              `Read models lag behind the event store: ${still.map((p) => `${p.Name} by ${p.Lag} events`).join(', ')}. The newest calls may be missing.`,
            );
          else setLagging(null);
        },
        () => {},
      );
    void check();
    const timer = setInterval(check, POLL_MS);
    return () => {
      connection.listeners.delete(changed);
      clearInterval(timer);
    };
  }, []);
  if (!reachable) {
    return html`<div class="banner down" role="alert">
      The API at ${location.host} is unreachable. What you see was read earlier; the console retries every ${POLL_MS / 1000} s.
    </div>`;
  }
  if (lagging) return html`<div class="banner lag" role="status">${lagging}</div>`;
  return null;
}
