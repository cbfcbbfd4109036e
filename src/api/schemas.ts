/**
 * JSON Schemas of the API: request schemas are what fastify validates (so a bad parameter is a 400
 * naming it), resource schemas document the responses in /openapi.json. One place for both.
 */
import { transferCallerIds, transferModes } from '../config/schema.ts';

export type JsonSchema = Record<string, unknown>;

export const CALL_STATUSES = [
  'ringing',
  'in-progress',
  'completed',
  'busy',
  'failed',
  'no-answer',
  'canceled',
];
export const TRANSFER_OUTCOMES = ['pending', 'completed', 'failed', 'rejected'];

const sidOf = (prefix: string) => ({ type: 'string', pattern: `^${prefix}[0-9a-f]{32}$` });
export const callSid = sidOf('CA');
export const transferSid = sidOf('TR');
export const trunkSid = sidOf('TK');

/** An ISO-8601 instant, or a day (midnight UTC). */
export const instant = {
  type: 'string',
  pattern: '^\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|[+-]\\d{2}:\\d{2}))?$',
  description: 'ISO-8601 time (2025-03-14T09:00:00Z) or day (2025-03-14, midnight UTC)',
};
export const day = {
  type: 'string',
  pattern: '^\\d{4}-\\d{2}-\\d{2}$',
  description: 'a UTC day, YYYY-MM-DD',
};
const nullable = (schema: JsonSchema) => ({ ...schema, type: [schema.type as string, 'null'] });
const str = { type: 'string' };
const int = { type: 'integer' };
const num = { type: 'number' };

export const paging = {
  PageSize: { type: 'integer', minimum: 1, maximum: 1000, default: 50, description: 'rows per page' },
  // Page * PageSize stays a few orders of magnitude below 2^53 and SQLite's 64-bit offsets.
  Page: { type: 'integer', minimum: 0, maximum: 1_000_000, default: 0, description: 'page number, from 0' },
};

export function query(properties: Record<string, JsonSchema>): JsonSchema {
  return { type: 'object', additionalProperties: false, properties };
}

export const sidParams = (schema: JsonSchema) => ({
  type: 'object',
  additionalProperties: false,
  required: ['Sid'],
  properties: { Sid: schema },
});

const pageEnvelope = (key: string, item: JsonSchema): JsonSchema => ({
  type: 'object',
  properties: {
    [key]: { type: 'array', items: item },
    Page: int,
    PageSize: int,
    Uri: str,
    FirstPageUri: str,
    NextPageUri: nullable(str),
    PreviousPageUri: nullable(str),
  },
});

export const errorSchema: JsonSchema = {
  type: 'object',
  required: ['code', 'message', 'field'],
  properties: { code: str, message: str, field: nullable(str) },
};

export const billingLineSchema: JsonSchema = {
  type: 'object',
  properties: {
    CallSid: str,
    Line: int,
    TrunkSid: str,
    Day: str,
    Kind: { type: 'string', enum: ['termination', 'origination'] },
    Number: str,
    Description: str,
    RatePerMinute: num,
    Minutes: int,
    Amount: num,
    Currency: str,
  },
};

export const callSchema: JsonSchema = {
  type: 'object',
  properties: {
    Sid: str,
    ParentCallSid: nullable(str),
    TransferSid: nullable(str),
    TrunkSid: str,
    TrunkName: str,
    Direction: { type: 'string', enum: ['trunking-terminating', 'trunking-originating'] },
    From: str,
    To: str,
    CallerId: { type: 'string', description: 'what the called party was shown (per transferCallerId)' },
    TargetKind: nullable({ type: 'string', enum: ['sip', 'pstn'] }),
    Status: { type: 'string', enum: CALL_STATUSES },
    SipResponseCode: nullable(int),
    StartTime: str,
    AnswerTime: nullable(str),
    EndTime: nullable(str),
    Duration: nullable({
      type: 'integer',
      description: 'seconds from answer to end, a started second counting',
    }),
    Price: nullable({ type: 'number', description: 'null until the call ends' }),
    PriceUnit: nullable(str),
    TransfersAccepted: int,
    BillingLines: { type: 'array', items: billingLineSchema },
    Uri: str,
    SubresourceUris: { type: 'object', properties: { Events: str, Replay: str } },
  },
};

export const callPage = pageEnvelope('Calls', callSchema);

export const eventSchema: JsonSchema = {
  type: 'object',
  properties: {
    Position: int,
    Revision: int,
    Id: str,
    Type: str,
    At: nullable(str),
    RecordedAt: str,
    Data: { type: 'object' },
    Metadata: { type: 'object' },
  },
};

export const replayStepSchema: JsonSchema = {
  type: 'object',
  properties: {
    Revision: int,
    Position: int,
    At: str,
    Type: str,
    Machine: nullable(str),
    Before: {},
    After: {},
    Recorded: {},
    Actions: { type: 'array', items: str },
  },
};

export const transferSchema: JsonSchema = {
  type: 'object',
  properties: {
    Sid: str,
    CallSid: str,
    ChildCallSid: nullable(str),
    TrunkSid: nullable(str),
    ReferredBy: nullable(str),
    ReferTo: str,
    TargetKind: nullable({ type: 'string', enum: ['sip', 'pstn'] }),
    TargetUri: nullable(str),
    CallerId: nullable(str),
    TransferMode: str,
    TransferCallerId: str,
    Outcome: { type: 'string', enum: TRANSFER_OUTCOMES },
    ReferStatus: nullable(int),
    TargetStatus: nullable(int),
    RejectionReason: nullable(str),
    FailureReason: nullable(str),
    ReferTime: str,
    AcceptTime: nullable(str),
    AnswerTime: nullable(str),
    EndTime: nullable(str),
    Refer202Ms: nullable({ type: 'integer', description: 'REFER received -> 202 decided (engine clock)' }),
    ReferAnswerMs: nullable({ type: 'integer', description: 'REFER received -> target answered' }),
    Uri: str,
  },
};

export const transferPage = pageEnvelope('Transfers', transferSchema);

const rateDeck = {
  type: 'object',
  additionalProperties: { type: 'number', minimum: 0 },
  description: 'per-minute rates by "+digits" prefix; "" is the default',
};

export const trunkSchema: JsonSchema = {
  type: 'object',
  properties: {
    Sid: str,
    Name: str,
    Domain: str,
    Acl: { type: 'array', items: str },
    OriginationUri: str,
    Numbers: { type: 'array', items: str },
    TransferMode: { type: 'string', enum: [...transferModes] },
    TransferCallerId: { type: 'string', enum: [...transferCallerIds] },
    MaxTransfersPerCall: int,
    CpsLimit: nullable(num),
    Rates: {
      type: 'object',
      properties: { Currency: str, Origination: rateDeck, Termination: rateDeck },
    },
    Source: { type: 'string', enum: ['config', 'api'] },
    Revision: int,
    DateCreated: str,
    DateUpdated: str,
    Uri: str,
  },
};

/** Who made a change is the API key that made it, recorded by the server; the caller says only why. */
const attribution = {
  Reason: { type: 'string', minLength: 1, maxLength: 500, description: 'why (recorded in the audit)' },
};

export const trunkCreateBody: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['Name', 'Domain', 'Acl', 'OriginationUri', 'TransferMode', 'Rates'],
  properties: {
    Name: str,
    Domain: str,
    Acl: { type: 'array', items: str },
    OriginationUri: str,
    Numbers: { type: 'array', items: str, default: [] },
    TransferMode: { type: 'string', enum: [...transferModes] },
    TransferCallerId: { type: 'string', enum: [...transferCallerIds] },
    MaxTransfersPerCall: { type: 'integer', maximum: 1000 },
    CpsLimit: { type: 'number', exclusiveMinimum: 0, maximum: 100000 },
    Rates: {
      type: 'object',
      additionalProperties: false,
      required: ['Currency', 'Origination', 'Termination'],
      properties: { Currency: str, Origination: rateDeck, Termination: rateDeck },
    },
    ...attribution,
  },
};

export const trunkUpdateBody: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    TransferMode: { type: 'string', enum: [...transferModes] },
    TransferCallerId: { type: 'string', enum: [...transferCallerIds] },
    Acl: { type: 'array', items: str, minItems: 1 },
    CpsLimit: {
      type: ['number', 'null'],
      exclusiveMinimum: 0,
      maximum: 100000,
      description: 'new calls plus accepted transfers per second; null for no limit',
    },
    ...attribution,
  },
};

export const billingSummarySchema: JsonSchema = {
  type: 'object',
  properties: {
    TrunkSid: nullable(str),
    StartDate: nullable(str),
    EndDate: nullable(str),
    Days: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          TrunkSid: str,
          Day: str,
          Currency: str,
          Calls: int,
          Legs: int,
          Minutes: int,
          Amount: num,
        },
      },
    },
    Totals: {
      type: 'array',
      items: {
        type: 'object',
        properties: { TrunkSid: str, Currency: str, Calls: int, Legs: int, Minutes: int, Amount: num },
      },
    },
    LinesUri: str,
  },
};

export const billingLinePage = pageEnvelope('Lines', billingLineSchema);

export const auditEntrySchema: JsonSchema = {
  type: 'object',
  properties: {
    Position: int,
    At: str,
    Kind: { type: 'string', enum: ['trunk', 'transfer'] },
    Action: str,
    TrunkSid: nullable(str),
    CallSid: nullable(str),
    TransferSid: nullable(str),
    What: str,
    Why: str,
    By: nullable({
      type: 'string',
      description: 'the API key sid (SK…) that made a trunk change; earlier changes: what the caller said',
    }),
    Details: { type: 'object' },
  },
};

export const auditPage = pageEnvelope('Entries', auditEntrySchema);
