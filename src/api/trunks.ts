/**
 * /v1/Trunks: list, create, and change a trunk's TransferMode, TransferCallerId, Acl, CpsLimit and
 * TlsClient. Every change is an event in the trunk's stream, recording the API key that made it as `by`
 * and the caller's `Reason`, and the engine reads the live trunks on every input, so a change applies to
 * the next call or REFER without a restart.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type TrunkConfig, trunkSchema as trunkConfigSchema } from '../config/schema.ts';
import type { TrunkState } from '../trunks/events.ts';
import { badRequest, notFound } from './errors.ts';
import type { ApiContext, RouteSpec } from './routes.ts';
import {
  sidParams,
  type TrunkCreateBody,
  type TrunkUpdateBody,
  trunkCreateBody,
  trunkSchema,
  trunkSid,
  trunkUpdateBody,
} from './schemas.ts';

function trunkResource(state: TrunkState) {
  const { config } = state;
  return {
    Sid: state.sid,
    Name: config.name,
    Domain: config.domain,
    Acl: config.acl,
    OriginationUri: config.originationUri,
    Numbers: config.numbers,
    TransferMode: config.transferMode,
    TransferCallerId: config.transferCallerId,
    MaxTransfersPerCall: config.maxTransfersPerCall,
    CpsLimit: config.cpsLimit ?? null,
    TlsClient: config.tlsClient
      ? { Fingerprints: config.tlsClient.fingerprints ?? [], Names: config.tlsClient.names ?? [] }
      : null,
    Rates: {
      Currency: config.rates.currency,
      Origination: config.rates.origination,
      Termination: config.rates.termination,
    },
    Source: state.source,
    Revision: state.revision,
    DateCreated: state.createdAt,
    DateUpdated: state.updatedAt,
    Uri: `/v1/Trunks/${state.sid}`,
  };
}

/** Config field names as the API spells them, to name the field a semantic check refused. */
const API_NAMES: Record<string, string> = {
  name: 'Name',
  domain: 'Domain',
  acl: 'Acl',
  originationUri: 'OriginationUri',
  numbers: 'Numbers',
  transferMode: 'TransferMode',
  transferCallerId: 'TransferCallerId',
  maxTransfersPerCall: 'MaxTransfersPerCall',
  cpsLimit: 'CpsLimit',
  tlsClient: 'TlsClient',
  fingerprints: 'Fingerprints',
  names: 'Names',
  rates: 'Rates',
  currency: 'Currency',
  origination: 'Origination',
  termination: 'Termination',
};

function apiPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, key) => {
    if (typeof key === 'number') return `${out}[${key}]`;
    const name = API_NAMES[String(key)] ?? String(key);
    return out ? `${out}.${name}` : name;
  }, '');
}

/** Checks a new trunk with the same rules as the config file (CIDRs, URIs, E.164, rate decks). */
function trunkConfigOf(body: TrunkCreateBody): TrunkConfig {
  const parsed = trunkConfigSchema.safeParse({
    name: body.Name,
    domain: body.Domain,
    acl: body.Acl,
    originationUri: body.OriginationUri,
    numbers: body.Numbers ?? [],
    transferMode: body.TransferMode,
    ...(body.TransferCallerId ? { transferCallerId: body.TransferCallerId } : {}),
    ...(body.MaxTransfersPerCall !== undefined ? { maxTransfersPerCall: body.MaxTransfersPerCall } : {}),
    ...(body.CpsLimit !== undefined ? { cpsLimit: body.CpsLimit } : {}),
    ...(body.TlsClient ? { tlsClient: tlsClientOf(body.TlsClient) } : {}),
    rates: {
      currency: body.Rates.Currency,
      origination: body.Rates.Origination,
      termination: body.Rates.Termination,
    },
  });
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = apiPath(issue.path) || 'body';
  throw badRequest(field, `${field}: ${issue.message}`);
}

function tlsClientOf(client: { Fingerprints?: string[]; Names?: string[] }) {
  return {
    ...(client.Fingerprints ? { fingerprints: client.Fingerprints } : {}),
    ...(client.Names ? { names: client.Names } : {}),
  };
}

/** Who is the key the request was authenticated with, never what the body claims. */
function attribution(request: FastifyRequest): { reason?: string; by: string } {
  const { Reason } = request.body as { Reason?: string };
  if (!request.apiKey) throw new Error('a trunk change reached its handler without an API key');
  return { ...(Reason ? { reason: Reason } : {}), by: request.apiKey.sid };
}

export function trunkRoutes(context: ApiContext): RouteSpec[] {
  const update = async (request: FastifyRequest) => {
    const { Sid } = request.params as { Sid: string };
    const body = request.body as TrunkUpdateBody;
    if (!context.trunks.get(Sid)) throw notFound('trunk', Sid);
    if (body.Acl) {
      const acl = trunkConfigSchema.shape.acl.safeParse(body.Acl);
      if (!acl.success) {
        const field = apiPath(['acl', ...acl.error.issues[0]!.path]);
        throw badRequest(field, `${field}: ${acl.error.issues[0]!.message}`);
      }
    }
    let tlsClient: TrunkConfig['tlsClient'] | null | undefined;
    if (body.TlsClient) {
      const parsed = trunkConfigSchema.shape.tlsClient.safeParse(tlsClientOf(body.TlsClient));
      if (!parsed.success) {
        const field = apiPath(['tlsClient', ...parsed.error.issues[0]!.path]);
        throw badRequest(field, `${field}: ${parsed.error.issues[0]!.message}`);
      }
      tlsClient = parsed.data;
    } else if (body.TlsClient === null) {
      tlsClient = null;
    }
    const state = await context.trunks.update(
      Sid,
      {
        ...(body.TransferMode ? { transferMode: body.TransferMode } : {}),
        ...(body.TransferCallerId ? { transferCallerId: body.TransferCallerId } : {}),
        ...(body.Acl ? { acl: body.Acl } : {}),
        ...(body.MaxTransfersPerCall !== undefined ? { maxTransfersPerCall: body.MaxTransfersPerCall } : {}),
        ...(body.CpsLimit !== undefined ? { cpsLimit: body.CpsLimit } : {}),
        ...(tlsClient !== undefined ? { tlsClient } : {}),
      },
      attribution(request),
    );
    return trunkResource(state);
  };
  const updateSpec = (method: 'POST' | 'PATCH'): RouteSpec => ({
    method,
    url: '/v1/Trunks/:Sid',
    tag: 'Trunks',
    summary:
      'Change TransferMode, TransferCallerId, MaxTransfersPerCall, Acl, CpsLimit or TlsClient; applies to the next call or REFER',
    params: sidParams(trunkSid),
    body: trunkUpdateBody,
    responses: { 200: { description: 'the trunk after the change', schema: trunkSchema } },
    handler: (request) => update(request),
  });
  return [
    {
      method: 'GET',
      url: '/v1/Trunks',
      tag: 'Trunks',
      summary: 'List trunks',
      responses: {
        200: {
          description: 'every trunk',
          schema: { type: 'object', properties: { Trunks: { type: 'array', items: trunkSchema } } },
        },
      },
      handler: () => ({ Trunks: context.trunks.list().map(trunkResource) }),
    },
    {
      method: 'POST',
      url: '/v1/Trunks',
      tag: 'Trunks',
      summary: 'Create a trunk',
      body: trunkCreateBody,
      responses: {
        201: { description: 'the new trunk', schema: trunkSchema },
        409: { description: 'the name, domain or a number is already taken' },
      },
      async handler(request, reply: FastifyReply) {
        const body = request.body as TrunkCreateBody;
        const state = await context.trunks.create(trunkConfigOf(body), attribution(request));
        return reply.status(201).header('location', `/v1/Trunks/${state.sid}`).send(trunkResource(state));
      },
    },
    {
      method: 'GET',
      url: '/v1/Trunks/:Sid',
      tag: 'Trunks',
      summary: 'One trunk',
      params: sidParams(trunkSid),
      responses: { 200: { description: 'the trunk', schema: trunkSchema } },
      handler(request) {
        const { Sid } = request.params as { Sid: string };
        const state = context.trunks.get(Sid);
        if (!state) throw notFound('trunk', Sid);
        return trunkResource(state);
      },
    },
    updateSpec('POST'),
    updateSpec('PATCH'),
  ];
}
