/** Bus messages as UTF-8 JSON. Decoding checks only the shape the bus itself relies on. */
import type { SipCommand, SipInput } from '../../shared/messages.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encode(message: SipInput | SipCommand): Uint8Array {
  return encoder.encode(JSON.stringify(message));
}

function decodeObject(data: Uint8Array): Record<string, unknown> {
  const value: unknown = JSON.parse(decoder.decode(data));
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error('not a JSON object');
  }
  return value as Record<string, unknown>;
}

export function decodeInput(data: Uint8Array): SipInput {
  const value = decodeObject(data);
  if ((value.kind !== 'request' && value.kind !== 'response') || typeof value.callId !== 'string') {
    throw new Error('not a SIP input');
  }
  return value as unknown as SipInput;
}

export function decodeCommand(data: Uint8Array): SipCommand {
  const value = decodeObject(data);
  if (value.kind !== 'request' && value.kind !== 'response') throw new Error('not a SIP command');
  return value as unknown as SipCommand;
}
