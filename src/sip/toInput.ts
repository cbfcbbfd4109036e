/** ValidMessage -> the SipInput the engine receives. Pure: the clock and ids are passed in. */

import { splitHeaderValues } from '../../machines/sip-syntax.ts';
import type { SipEndpoint, SipRequestInput, SipResponseInput } from '../shared/messages.ts';
import type { RawHeader, ValidRequest, ValidResponse } from './types.ts';

interface Context {
  adapterId: string;
  source: SipEndpoint;
  receivedAt: Date;
  transactionKey: string;
}

export function requestToInput(message: ValidRequest, context: Context): SipRequestInput {
  return {
    kind: 'request',
    ...common(message, context),
    transactionKey: context.transactionKey,
    method: message.method,
    uri: message.uri,
    ...(message.certificate ? { certificate: message.certificate } : {}),
    ...(message.maxForwards === undefined ? {} : { maxForwards: message.maxForwards }),
  };
}

export function responseToInput(message: ValidResponse, context: Context): SipResponseInput {
  return {
    kind: 'response',
    ...common(message, context),
    transactionKey: context.transactionKey,
    status: message.status,
    reason: message.reason,
  };
}

function common(message: ValidRequest | ValidResponse, context: Context) {
  return {
    adapterId: context.adapterId,
    callId: message.callId,
    from: message.from,
    to: message.to,
    cseq: message.cseq,
    ...(message.contact ? { contact: message.contact } : {}),
    recordRoute: message.raw.headers
      .filter((h) => h.name === 'record-route')
      .flatMap((h) => splitHeaderValues(h.value)),
    headers: headerRecord(message.raw.headers),
    body: message.body,
    source: { ...context.source },
    receivedAt: context.receivedAt.toISOString(),
  };
}

/** Header lines grouped by (lower-cased, expanded) name, values as received, in order. */
export function headerRecord(headers: RawHeader[]): Record<string, string[]> {
  const record: Record<string, string[]> = {};
  for (const { name, value } of headers) {
    if (!Object.hasOwn(record, name)) record[name] = [];
    record[name]!.push(value);
  }
  return record;
}
