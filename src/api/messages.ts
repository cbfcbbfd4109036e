/**
 * /v1/Calls/{Sid}/Messages: the SIP messages the pivot received and sent for the call's session, from
 * the SIP trace (src/trace), in wire order. JSON by default; `format=text` prints them one after the
 * other with a line naming time, peer and direction, as SIPp traces do; `format=pcap` is a capture file.
 */
import { toPcap } from '../trace/pcap.ts';
import type { TracedMessage } from '../trace/store.ts';
import { sessionOf } from './calls.ts';
import type { ApiContext, RouteSpec } from './routes.ts';
import { callSid, query, sidParams, tracedMessageSchema } from './schemas.ts';

function resource(message: TracedMessage, index: number) {
  return {
    Index: index,
    At: message.at,
    Direction: message.direction,
    Transport: message.transport,
    RemoteHost: message.remoteHost,
    RemotePort: message.remotePort,
    CallId: message.callId,
    CSeq: message.cseq,
    Method: message.method,
    Status: message.status,
    FirstLine: message.firstLine,
    Text: message.text,
  };
}

function asText(messages: TracedMessage[]): string {
  return messages
    .map((m) => {
      const peer = `${m.remoteHost}:${m.remotePort}`;
      const arrow = m.direction === 'in' ? `${peer} -> pivot` : `pivot -> ${peer}`;
      return `${m.at} ${arrow} (${m.transport.toUpperCase()})\n${m.text.replace(/\r\n/g, '\n').trimEnd()}\n`;
    })
    .join('\n');
}

export function messageRoutes(context: ApiContext): RouteSpec[] {
  return [
    {
      method: 'GET',
      url: '/v1/Calls/:Sid/Messages',
      tag: 'Calls',
      summary: "The SIP messages of the call's session as the pivot received and sent them (the SIP trace)",
      params: sidParams(callSid),
      querystring: query({
        format: {
          type: 'string',
          enum: ['json', 'text', 'pcap'],
          description: 'text: one message after the other; pcap: a capture file for Wireshark or sngrep',
        },
      }),
      responses: {
        200: {
          description: 'the messages in wire order; empty when the trace is off or past its retention',
          schema: {
            type: 'object',
            properties: {
              CallSid: { type: 'string' },
              SessionSid: { type: 'string' },
              Capture: { type: 'string', enum: ['on', 'off'] },
              MaxMessages: { type: ['integer', 'null'] },
              Truncated: {
                type: 'boolean',
                description: 'the per-call cap was reached: later messages were not kept',
              },
              Messages: { type: 'array', items: tracedMessageSchema },
            },
          },
        },
      },
      async handler(request, reply) {
        const { Sid } = request.params as { Sid: string };
        const { format } = request.query as { format?: 'json' | 'text' | 'pcap' };
        const session = await sessionOf(context, Sid);
        const messages = context.trace?.messages(session) ?? [];
        if (format === 'text') return reply.type('text/plain; charset=utf-8').send(asText(messages));
        if (format === 'pcap') {
          return reply
            .type('application/vnd.tcpdump.pcap')
            .header('content-disposition', `attachment; filename="${Sid}.pcap"`)
            .send(toPcap(messages));
        }
        const cap = context.trace?.maxMessagesPerCall ?? null;
        return {
          CallSid: Sid,
          SessionSid: session,
          Capture: context.trace ? 'on' : 'off',
          MaxMessages: cap,
          Truncated: cap !== null && messages.length >= cap,
          Messages: messages.map(resource),
        };
      },
    },
  ];
}
