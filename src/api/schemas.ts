/**
 * The API's shapes, written once as zod schemas: request schemas become the JSON Schemas fastify
 * validates (so a bad parameter is a 400 naming it), resource schemas the responses /openapi.json
 * documents, and handlers take their body types from the same schemas.
 */
import { z } from 'zod';
import { CALL_STATUSES, TRANSFER_CALLER_IDS, TRANSFER_MODES } from '../../machines/events.ts';
import { API_KEY_ROLES } from '../apikeys/events.ts';

export type JsonSchema = Record<string, unknown>;

/**
 * The JSON Schema of a zod schema as the API speaks it: what a request may carry (defaults make a field
 * optional), without `$schema` (fastify's validator and OpenAPI 3.1 both take the bare schema) and
 * without the safe-integer bounds zod adds to every integer (only bounds the API states are kept).
 */
export function jsonSchemaOf(schema: z.ZodType): JsonSchema {
  const { $schema: _, ...json } = z.toJSONSchema(schema, {
    io: 'input',
    override: ({ jsonSchema }) => {
      if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
      if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
      collapseNullable(jsonSchema);
    },
  });
  return json;
}

/**
 * `anyOf: [{ type: 'number', ... }, { type: 'null' }]` -> `{ type: ['number', 'null'], ... }`. Fastify's
 * validator coerces types: under `anyOf` a 0 that fails the number branch is coerced to null and
 * passes; with one type list the 0 is a number and fails its bound, as it should.
 */
function collapseNullable(schema: JsonSchema): void {
  const branches = schema.anyOf as JsonSchema[] | undefined;
  if (branches?.length !== 2) return;
  const value = branches.find((b) => b.type !== 'null');
  if (!value || !branches.some((b) => b.type === 'null') || typeof value.type !== 'string') return;
  delete schema.anyOf;
  Object.assign(schema, value, {
    type: [value.type, 'null'],
    ...(Array.isArray(value.enum) ? { enum: [...value.enum, null] } : {}),
  });
}

/** Each property of an object schema as its own JSON Schema (query parameters are listed one by one). */
const propertiesOf = (shape: z.ZodRawShape): Record<string, JsonSchema> =>
  Object.fromEntries(Object.entries(shape).map(([name, field]) => [name, jsonSchemaOf(field as z.ZodType)]));

export const TRANSFER_OUTCOMES = ['pending', 'completed', 'failed', 'rejected'] as const;

const sidOf = (prefix: string) => z.string().regex(new RegExp(`^${prefix}[0-9a-f]{32}$`));
const CallSid = sidOf('CA');
const TrunkSid = sidOf('TK');
export const callSid = jsonSchemaOf(CallSid);
export const transferSid = jsonSchemaOf(sidOf('TR'));
export const trunkSid = jsonSchemaOf(TrunkSid);

/** An ISO-8601 instant, or a day (midnight UTC). */
export const instant = jsonSchemaOf(
  z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/)
    .describe('ISO-8601 time (2025-03-14T09:00:00Z) or day (2025-03-14, midnight UTC)'),
);
export const day = jsonSchemaOf(
  z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/)
    .describe('a UTC day, YYYY-MM-DD'),
);

const str = z.string();
const int = z.int();
const num = z.number();
const nullableStr = str.nullable();

export const paging = propertiesOf({
  PageSize: z.int().min(1).max(1000).default(50).describe('rows per page'),
  // Page * PageSize stays a few orders of magnitude below 2^53 and SQLite's 64-bit offsets.
  Page: z.int().min(0).max(1_000_000).default(0).describe('page number, from 0'),
});

export function query(properties: Record<string, JsonSchema>): JsonSchema {
  return { type: 'object', additionalProperties: false, properties };
}

export const sidParams = (schema: JsonSchema) => ({
  type: 'object',
  additionalProperties: false,
  required: ['Sid'],
  properties: { Sid: schema },
});

const pageEnvelope = (key: string, item: z.ZodType) =>
  jsonSchemaOf(
    z.object({
      [key]: z.array(item),
      Page: int,
      PageSize: int,
      Uri: str,
      FirstPageUri: str,
      NextPageUri: nullableStr,
      PreviousPageUri: nullableStr,
    }),
  );

export const errorSchema = jsonSchemaOf(z.object({ code: str, message: str, field: nullableStr }));

const BillingLine = z.object({
  CallSid: str,
  Line: int,
  TrunkSid: str,
  Day: str,
  Kind: z.enum(['termination', 'origination']),
  Number: str,
  Description: str,
  RatePerMinute: num,
  Minutes: int,
  Amount: num,
  Currency: str,
});
export const billingLineSchema = jsonSchemaOf(BillingLine);

const TargetKind = z.enum(['sip', 'pstn']).nullable();

const Call = z.object({
  Sid: str,
  ParentCallSid: nullableStr,
  TransferSid: nullableStr,
  JoinedCallSid: nullableStr.describe(
    'a joined call (attended transfer): the replaced call whose far party it joined',
  ),
  TrunkSid: str,
  TrunkName: str,
  Direction: z.enum(['trunking-terminating', 'trunking-originating']),
  From: str,
  To: str,
  CallerId: str.describe('what the called party was shown (per transferCallerId)'),
  TargetKind,
  Status: z.enum(CALL_STATUSES),
  SipResponseCode: int.nullable(),
  StartTime: str,
  AnswerTime: nullableStr,
  EndTime: nullableStr,
  Duration: int.nullable().describe('seconds from answer to end, a started second counting'),
  Price: num.nullable().describe('null until the call ends'),
  PriceUnit: nullableStr,
  TransfersAccepted: int,
  BillingLines: z.array(BillingLine),
  Uri: str,
  SubresourceUris: z.object({ Events: str, Replay: str }),
});
export const callSchema = jsonSchemaOf(Call);
export const callPage = pageEnvelope('Calls', Call);

const JsonObject = z.record(z.string(), z.unknown());

export const eventSchema = jsonSchemaOf(
  z.object({
    Position: int,
    Revision: int,
    Id: str,
    Type: str,
    At: nullableStr,
    RecordedAt: str,
    Data: JsonObject,
    Metadata: JsonObject,
  }),
);

export const replayStepSchema = jsonSchemaOf(
  z.object({
    Revision: int,
    Position: int,
    At: str,
    Type: str,
    Machine: nullableStr,
    Before: z.unknown(),
    After: z.unknown(),
    Recorded: z.unknown(),
    Actions: z.array(str),
  }),
);

const Transfer = z.object({
  Sid: str,
  CallSid: str,
  Kind: z.enum(['blind', 'attended']).describe('attended: the Refer-To carried Replaces (RFC 3891)'),
  ReplacedCallSid: nullableStr.describe('attended: the pivot call the Replaces named, when it is one'),
  ChildCallSid: nullableStr,
  TrunkSid: nullableStr,
  ReferredBy: nullableStr,
  ReferTo: str,
  TargetKind,
  TargetUri: nullableStr,
  CallerId: nullableStr,
  TransferMode: str,
  TransferCallerId: str,
  Outcome: z.enum(TRANSFER_OUTCOMES),
  ReferStatus: int.nullable(),
  TargetStatus: int.nullable(),
  RejectionReason: nullableStr,
  FailureReason: nullableStr,
  ReferTime: str,
  AcceptTime: nullableStr,
  AnswerTime: nullableStr,
  EndTime: nullableStr,
  Refer202Ms: int.nullable().describe('REFER received -> 202 decided (engine clock)'),
  ReferAnswerMs: int.nullable().describe('REFER received -> target answered'),
  Uri: str,
});
export const transferSchema = jsonSchemaOf(Transfer);
export const transferPage = pageEnvelope('Transfers', Transfer);

const RateDeck = z
  .record(z.string(), z.number().min(0))
  .describe('per-minute rates by "+digits" prefix; "" is the default');

export const trunkSchema = jsonSchemaOf(
  z.object({
    Sid: str,
    Name: str,
    Domain: str,
    Acl: z.array(str),
    OriginationUri: str,
    Numbers: z.array(str),
    TransferMode: z.enum(TRANSFER_MODES),
    TransferCallerId: z.enum(TRANSFER_CALLER_IDS),
    MaxTransfersPerCall: int,
    CpsLimit: num.nullable(),
    TlsClient: z.object({ Fingerprints: z.array(str), Names: z.array(str) }).nullable(),
    Rates: z.object({ Currency: str, Origination: RateDeck, Termination: RateDeck }),
    Source: z.enum(['config', 'api']),
    Revision: int,
    DateCreated: str,
    DateUpdated: str,
    Uri: str,
  }),
);

/** Who made a change is the API key that made it, recorded by the server; the caller says only why. */
/** Calls per second: new calls plus accepted transfers. */
const CpsLimit = z.number().gt(0).max(100000);

/** The client certificate the trunk's PBX presents over TLS; checked by the config's rules (trunks.ts). */
const TlsClient = z
  .strictObject({ Fingerprints: z.array(str).optional(), Names: z.array(str).optional() })
  .describe('SHA-256 fingerprints and/or names (subject CN or subjectAltName) of the PBX certificate');

const Reason = z.string().min(1).max(500).describe('why (recorded in the audit)');

/** A new trunk as the API spells it; its values are then checked by the config's rules (trunks.ts). */
export const TrunkCreateBody = z.strictObject({
  Name: str,
  Domain: str,
  Acl: z.array(str),
  OriginationUri: str,
  Numbers: z.array(str).default([]),
  TransferMode: z.enum(TRANSFER_MODES),
  TransferCallerId: z.enum(TRANSFER_CALLER_IDS).optional(),
  MaxTransfersPerCall: z.int().max(1000).optional(),
  CpsLimit: CpsLimit.optional(),
  TlsClient: TlsClient.optional(),
  Rates: z.strictObject({ Currency: str, Origination: RateDeck, Termination: RateDeck }),
  Reason: Reason.optional(),
});
export type TrunkCreateBody = z.input<typeof TrunkCreateBody>;
export const trunkCreateBody = jsonSchemaOf(TrunkCreateBody);

export const TrunkUpdateBody = z
  .strictObject({
    TransferMode: z.enum(TRANSFER_MODES).optional(),
    TransferCallerId: z.enum(TRANSFER_CALLER_IDS).optional(),
    Acl: z.array(str).min(1).optional(),
    MaxTransfersPerCall: z.int().min(1).max(1000).optional(),
    CpsLimit: CpsLimit.nullable()
      .optional()
      .describe('new calls plus accepted transfers per second; null for no limit'),
    TlsClient: TlsClient.nullable().optional().describe('null: no client certificate asked of the PBX'),
    Reason: Reason.optional(),
  })
  .meta({ minProperties: 1 });
export type TrunkUpdateBody = z.input<typeof TrunkUpdateBody>;
export const trunkUpdateBody = jsonSchemaOf(TrunkUpdateBody);

const BillingTotals = { TrunkSid: str, Currency: str, Calls: int, Legs: int, Minutes: int, Amount: num };

export const billingSummarySchema = jsonSchemaOf(
  z.object({
    TrunkSid: nullableStr,
    StartDate: nullableStr,
    EndDate: nullableStr,
    Days: z.array(z.object({ ...BillingTotals, Day: str })),
    Totals: z.array(z.object(BillingTotals)),
    LinesUri: str,
  }),
);

export const billingLinePage = pageEnvelope('Lines', BillingLine);

const AuditEntry = z.object({
  Position: int,
  At: str,
  Kind: z.enum(['trunk', 'transfer', 'key']),
  Action: str,
  TrunkSid: nullableStr,
  CallSid: nullableStr,
  TransferSid: nullableStr,
  What: str,
  Why: str,
  By: nullableStr.describe(
    'the API key sid (SK…) that made a trunk change; earlier changes: what the caller said',
  ),
  Details: JsonObject,
});
export const auditPage = pageEnvelope('Entries', AuditEntry);

/** An event as the feeds serve it (src/api/feed.ts). */
export const feedEventSchema = jsonSchemaOf(
  z.object({
    Position: int,
    Stream: str,
    Revision: int,
    Id: str,
    Type: str,
    Version: int,
    RecordedAt: str,
    Data: JsonObject,
    Metadata: JsonObject,
  }),
);

export const DELIVERY_STATES = ['pending', 'delivered', 'failed', 'expired'] as const;

/** One status callback delivery (projections/webhooks). */
export const deliverySchema = jsonSchemaOf(
  z.object({
    Sid: int,
    Position: int,
    Event: str,
    TrunkSid: str,
    CallSid: str,
    State: z.enum(DELIVERY_STATES),
    Attempts: int,
    LastStatus: int.nullable(),
    LastError: nullableStr,
    EventAt: str,
    QueuedAt: str,
    NextAttemptAt: nullableStr,
    DeliveredAt: nullableStr,
    Body: JsonObject,
  }),
);

/** One SIP message of a call's trace (src/trace). */
export const tracedMessageSchema = jsonSchemaOf(
  z.object({
    Index: int,
    At: z.iso.datetime(),
    Direction: z.enum(['in', 'out']).describe('in: received by the pivot; out: sent'),
    Transport: str,
    RemoteHost: str,
    RemotePort: int,
    CallId: str,
    CSeq: str,
    Method: nullableStr,
    Status: int.nullable(),
    FirstLine: str,
    Text: str,
  }),
);

// ---- API keys -------------------------------------------------------------------------------------

export const keySid = jsonSchemaOf(sidOf('SK'));

const ApiKey = z.object({
  Sid: str,
  Role: z.enum(API_KEY_ROLES),
  Name: nullableStr,
  DateCreated: str,
  DateRevoked: nullableStr,
  Uri: str,
});
export const apiKeySchema = jsonSchemaOf(ApiKey);
export const createdApiKeySchema = jsonSchemaOf(
  ApiKey.extend({ Secret: str.describe('the key secret: shown in this answer only, never stored') }),
);

export const KeyCreateBody = z.strictObject({
  Role: z.enum(API_KEY_ROLES).describe('admin (everything) or read (GET only)'),
  Name: z.string().min(1).max(200).optional().describe('what the key is for'),
});
export type KeyCreateBody = z.input<typeof KeyCreateBody>;
export const keyCreateBody = jsonSchemaOf(KeyCreateBody);

export const KeyUpdateBody = z.strictObject({
  Revoked: z.literal(true).describe('revoke the key: every request made with it is refused from now on'),
});
export const keyUpdateBody = jsonSchemaOf(KeyUpdateBody);
