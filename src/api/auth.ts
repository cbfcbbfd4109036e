/**
 * Who may call what. `/v1` routes need an API key over HTTP Basic (RFC 7617): `-u SK…:secret`. An
 * `admin` key may do everything, a `read` key only GET. `/healthz` and `/openapi.json` are open;
 * `/metrics` is open unless `http.metricsToken` is set, then it needs `Authorization: Bearer <token>`.
 *
 * Checked in `onRequest`, before fastify reads the body: an anonymous or read-only caller never gets
 * a write's body parsed. Writes then accept `application/json` only (415 otherwise): an HTML form can
 * post cross-site only as `application/x-www-form-urlencoded`, `multipart/form-data` or `text/plain`
 * without a CORS preflight, and a cross-site `fetch` with `application/json` needs a preflight this
 * API never grants. So a page in a browser that once sent credentials here (and would send them again,
 * Basic credentials being cached per origin) cannot make a change (CSRF).
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AuthenticationBusyError, type Authenticator } from '../apikeys/authenticate.ts';
import { digestOf } from '../apikeys/secret.ts';
import type { ErrorBody } from './errors.ts';

/** `open`: anyone; `read`: any key; `admin`: an admin key; `metrics`: the metrics token if one is set. */
export type Access = 'open' | 'read' | 'admin' | 'metrics';

export const REALM = 'sip-pivot';

/** The key a request was authenticated with (null on open routes). */
export interface RequestKey {
  sid: string;
  role: 'admin' | 'read';
}

declare module 'fastify' {
  interface FastifyRequest {
    apiKey: RequestKey | null;
  }
  interface FastifyContextConfig {
    access?: Access;
  }
}

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function refuse(reply: FastifyReply, status: number, code: string, message: string, field: string | null) {
  return reply.status(status).send({ code, message, field } satisfies ErrorBody);
}

/** `Basic base64(user:password)` -> the pair, or undefined when the header is not that. */
function basicCredentials(header: string | undefined): { user: string; password: string } | undefined {
  const match = /^Basic +([A-Za-z0-9+/]+=*) *$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer +(\S+) *$/i.exec(header ?? '');
  // Digests have one length, so the comparison takes the same time whatever was sent.
  return match !== null && timingSafeEqual(digestOf(match[1]!), digestOf(token));
}

/** The media type of a Content-Type header, without parameters, lower-cased. */
function mediaType(header: string | undefined): string | undefined {
  const type = header?.split(';')[0]?.trim().toLowerCase();
  return type ? type : undefined;
}

export interface AccessOptions {
  authenticator: Authenticator;
  metricsToken?: string;
}

export function installAccessControl(app: FastifyInstance, options: AccessOptions): void {
  app.decorateRequest('apiKey', null);
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    // Unknown routes (404) need a key too, so an anonymous caller learns nothing about the API.
    const access = request.routeOptions.config?.access ?? 'read';
    if (access === 'open') return;
    if (access === 'metrics') {
      if (options.metricsToken === undefined) return;
      if (bearerMatches(request.headers.authorization, options.metricsToken)) return;
      reply.header('www-authenticate', `Bearer realm="${REALM}"`);
      return refuse(reply, 401, 'unauthorized', 'a bearer token is required for /metrics', 'Authorization');
    }
    const credentials = basicCredentials(request.headers.authorization);
    let key: Awaited<ReturnType<Authenticator['authenticate']>>;
    try {
      key = credentials
        ? await options.authenticator.authenticate(credentials.user, credentials.password)
        : undefined;
    } catch (error) {
      if (!(error instanceof AuthenticationBusyError)) throw error;
      reply.header('retry-after', '1');
      return refuse(reply, 503, 'busy', 'too many API keys being verified; try again', null);
    }
    if (!key) {
      reply.header('www-authenticate', `Basic realm="${REALM}"`);
      return refuse(
        reply,
        401,
        'unauthorized',
        credentials
          ? 'unknown, revoked or wrong API key'
          : 'an API key is required: HTTP Basic with the key sid as user and its secret as password',
        'Authorization',
      );
    }
    if (access === 'admin' && key.role !== 'admin') {
      return refuse(reply, 403, 'forbidden', `API key ${key.sid} (role ${key.role}) may only read`, null);
    }
    request.apiKey = { sid: key.sid, role: key.role };
    if (WRITES.has(request.method) && !request.is404) {
      const type = mediaType(request.headers['content-type']);
      if (type !== 'application/json') {
        return refuse(
          reply,
          415,
          'unsupported-media-type',
          `Content-Type ${type ?? '(none)'} is not accepted: send application/json`,
          'Content-Type',
        );
      }
    }
  });
}
