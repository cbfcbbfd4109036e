/**
 * The RFC 3261 retransmission schedule over UDP: resend after T1, then double the interval, optionally
 * capped (T2 for non-INVITE requests and for 2xx / non-2xx finals of a server), and give up at a deadline
 * (64*T1: timers B, F, H and the §13.3.1.4 2xx limit).
 */
export interface Retransmission {
  /** Continue at a fixed interval from now on (a non-INVITE client transaction entering Proceeding). */
  setInterval(ms: number): void;
  stop(): void;
}

export interface RetransmissionOptions {
  send: () => void;
  /** Over TCP nothing is resent, but the deadline still applies (timers B and F). */
  reliable?: boolean;
  firstIntervalMs: number;
  capMs?: number;
  deadlineMs: number;
  onDeadline?: () => void;
}

export function startRetransmission(options: RetransmissionOptions): Retransmission {
  let interval = options.firstIntervalMs;
  let cap = options.capMs ?? Number.POSITIVE_INFINITY;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const schedule = () => {
    if (options.reliable) return;
    timer = setTimeout(() => {
      if (stopped) return;
      options.send();
      interval = Math.min(interval * 2, cap);
      schedule();
    }, interval);
    timer.unref();
  };
  const deadline = setTimeout(() => {
    if (stopped) return;
    stop();
    options.onDeadline?.();
  }, options.deadlineMs);
  deadline.unref();

  function stop() {
    stopped = true;
    clearTimeout(timer);
    clearTimeout(deadline);
  }

  schedule();
  return {
    setInterval(ms) {
      if (stopped) return;
      interval = ms;
      cap = ms;
      clearTimeout(timer);
      schedule();
    },
    stop,
  };
}
