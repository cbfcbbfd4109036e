/** OutgoingMessage -> bytes. Content-Length is computed here, in bytes, so it can never be wrong. */
import type { OutgoingMessage } from './types.ts';

export function serializeMessage(message: OutgoingMessage): Buffer {
  const body = Buffer.from(message.body ?? '', 'utf8');
  const lines = [
    oneLine(message.startLine),
    ...message.headers.map(([name, value]) => `${oneLine(name)}: ${oneLine(value)}`),
    `Content-Length: ${body.length}`,
    '',
    '',
  ];
  return Buffer.concat([Buffer.from(lines.join('\r\n'), 'utf8'), body]);
}

/** Values come from commands built from wire data; a stray line break must not inject headers. */
function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}
