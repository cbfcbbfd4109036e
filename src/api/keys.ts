/**
 * /v1/Keys: the API's own keys, managed over the API by an admin key as `pivot keys` manages them from
 * the command line. The same event-sourced registry does the work (src/apikeys/registry.ts), recording
 * the key that made each change as `by`. The secret of a new key is in the creation's answer only.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiKeyState } from '../apikeys/events.ts';
import { ApiKeyError, type ApiKeyRegistry } from '../apikeys/registry.ts';
import { ApiError, notFound } from './errors.ts';
import type { ApiContext, RouteSpec } from './routes.ts';
import {
  apiKeySchema,
  createdApiKeySchema,
  type KeyCreateBody,
  keyCreateBody,
  keySid,
  keyUpdateBody,
  sidParams,
} from './schemas.ts';

function keyResource(key: ApiKeyState) {
  return {
    Sid: key.sid,
    Role: key.role,
    Name: key.name,
    DateCreated: key.createdAt,
    DateRevoked: key.revokedAt,
    Uri: `/v1/Keys/${key.sid}`,
  };
}

const conflict = (message: string) => new ApiError(409, 'conflict', message, 'Sid');

function callerOf(request: FastifyRequest): string {
  if (!request.apiKey) throw new Error('a key change reached its handler without an API key');
  return request.apiKey.sid;
}

export function keyRoutes(context: ApiContext & { apiKeys: ApiKeyRegistry }): RouteSpec[] {
  const { apiKeys } = context;
  return [
    {
      method: 'GET',
      url: '/v1/Keys',
      tag: 'Keys',
      summary: 'List API keys, revoked ones too (never a secret)',
      access: 'admin',
      responses: {
        200: {
          description: 'every key',
          schema: { type: 'object', properties: { Keys: { type: 'array', items: apiKeySchema } } },
        },
      },
      handler: () => ({ Keys: apiKeys.list().map(keyResource) }),
    },
    {
      method: 'POST',
      url: '/v1/Keys',
      tag: 'Keys',
      summary: 'Create an API key; its Secret is in this answer only',
      body: keyCreateBody,
      responses: { 201: { description: 'the new key and its secret', schema: createdApiKeySchema } },
      async handler(request, reply: FastifyReply) {
        const body = request.body as KeyCreateBody;
        const { key, secret } = await apiKeys.create({
          role: body.Role,
          ...(body.Name ? { name: body.Name } : {}),
          by: callerOf(request),
        });
        return reply
          .status(201)
          .header('location', `/v1/Keys/${key.sid}`)
          .header('cache-control', 'no-store')
          .send({ ...keyResource(key), Secret: secret });
      },
    },
    {
      method: 'GET',
      url: '/v1/Keys/:Sid',
      tag: 'Keys',
      summary: 'One API key',
      access: 'admin',
      params: sidParams(keySid),
      responses: { 200: { description: 'the key', schema: apiKeySchema } },
      handler(request) {
        const { Sid } = request.params as { Sid: string };
        const key = apiKeys.get(Sid);
        if (!key) throw notFound('API key', Sid);
        return keyResource(key);
      },
    },
    {
      method: 'POST',
      url: '/v1/Keys/:Sid',
      tag: 'Keys',
      summary: 'Revoke an API key (`{"Revoked": true}`)',
      params: sidParams(keySid),
      body: keyUpdateBody,
      responses: {
        200: { description: 'the key, revoked', schema: apiKeySchema },
        409: { description: 'already revoked, or the last admin key' },
      },
      async handler(request) {
        const { Sid } = request.params as { Sid: string };
        const key = apiKeys.get(Sid);
        if (!key) throw notFound('API key', Sid);
        // Without an admin key nobody could manage keys again but from the command line.
        const admins = apiKeys.active().filter((k) => k.role === 'admin');
        if (key.revokedAt === null && key.role === 'admin' && admins.length === 1) {
          throw conflict(`API key ${Sid} is the last admin key: create another before revoking it`);
        }
        try {
          return keyResource(await apiKeys.revoke(Sid, { by: callerOf(request) }));
        } catch (error) {
          if (error instanceof ApiKeyError) throw conflict(error.message);
          throw error;
        }
      },
    },
  ];
}
