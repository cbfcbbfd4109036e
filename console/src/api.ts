/**
 * The console's only way to data: the public HTTP API, with the API key the user signed in with (kept
 * in sessionStorage for this tab, sent as HTTP Basic). Requests never carry cookies or cached browser
 * credentials (`credentials: 'omit'`), so the browser's own Basic prompt never appears. Writes are JSON,
 * which the API requires (its answer to cross-site forms).
 */

export interface ApiKey {
  sid: string;
  secret: string;
}

const STORAGE = 'sip-pivot.console.key';

export function currentKey(): ApiKey | null {
  try {
    const raw = sessionStorage.getItem(STORAGE);
    const parsed = raw ? (JSON.parse(raw) as ApiKey) : null;
    return parsed && typeof parsed.sid === 'string' && typeof parsed.secret === 'string' ? parsed : null;
  } catch {
    return null;
  }
}

export function saveKey(key: ApiKey): void {
  sessionStorage.setItem(STORAGE, JSON.stringify(key));
  notify(authListeners);
}

export function forgetKey(): void {
  sessionStorage.removeItem(STORAGE);
  notify(authListeners);
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field: string | null,
  ) {
    super(message);
  }
}

type Listener = () => void;
const notify = (listeners: Set<Listener>) => {
  for (const listener of listeners) listener();
};

/** Sign-in changes (a 401 signs out: the key was revoked or is wrong). */
export const authListeners = new Set<Listener>();

/** Whether the last request reached the API at all. */
export const connection = { reachable: true, listeners: new Set<Listener>() };
function setReachable(reachable: boolean) {
  if (connection.reachable === reachable) return;
  connection.reachable = reachable;
  notify(connection.listeners);
}

function authorization(key: ApiKey): string {
  const bytes = new TextEncoder().encode(`${key.sid}:${key.secret}`);
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
}

export interface RequestOptions {
  method?: 'GET' | 'POST';
  body?: unknown;
  /** Another key than the signed-in one (the sign-in form checks a key before keeping it). */
  key?: ApiKey;
  /** Plain text instead of JSON. */
  text?: boolean;
  /** The body as it is (a file to save). */
  blob?: boolean;
}

export async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const key = options.key ?? currentKey();
  const headers: Record<string, string> = { accept: options.text ? 'text/plain' : 'application/json' };
  if (key) headers.authorization = authorization(key);
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, {
      method: options.method ?? 'GET',
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch {
    setReachable(false);
    throw new ApiError(0, 'The API is unreachable.', null);
  }
  setReachable(true);
  if (response.ok && options.blob) return (await response.blob()) as T;
  const text = await response.text();
  if (response.ok) return (options.text ? text : text ? JSON.parse(text) : null) as T;
  let body: { message?: string; field?: string | null } = {};
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the status line
  }
  if (response.status === 401 && !options.key) forgetKey();
  throw new ApiError(response.status, body.message ?? `HTTP ${response.status}`, body.field ?? null);
}
