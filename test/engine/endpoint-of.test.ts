import { describe, expect, it } from 'vitest';
import { endpointOf } from '../../src/engine/trunks.ts';

describe('endpointOf: where a request for a URI is sent', () => {
  it.each([
    ['sip:bob@127.0.0.1:5080', { transport: 'udp', host: '127.0.0.1', port: 5080 }],
    ['sip:bob@127.0.0.1', { transport: 'udp', host: '127.0.0.1', port: 5060 }],
    ['sip:bob@127.0.0.1:5080;transport=TCP', { transport: 'tcp', host: '127.0.0.1', port: 5080 }],
    ['sip:bob@[::ffff:127.0.0.1]:5080', { transport: 'udp', host: '127.0.0.1', port: 5080 }],
    ['sip:bob@[2001:DB8::1]:5080', { transport: 'udp', host: '2001:db8::1', port: 5080 }],
  ])('%s', (uri, endpoint) => {
    expect(endpointOf(uri)).toEqual(endpoint);
  });

  it('keeps the transport the request came on when the URI names none', () => {
    expect(endpointOf('sip:bob@127.0.0.1:5080', 'tcp')).toEqual({
      transport: 'tcp',
      host: '127.0.0.1',
      port: 5080,
    });
  });

  it.each([
    // Spellings the resolver would turn into an address no check has seen.
    'sip:bob@127.0.0.02:5080',
    'sip:bob@127.1:5080',
    'sip:bob@2130706433:5080',
    'sip:bob@0x7f000001:5080',
    // maddr would send the request elsewhere.
    'sip:bob@127.0.0.1:5080;maddr=127.0.0.2',
    // Names need DNS.
    'sip:bob@pbx.example.com',
    'tel:+15550100',
  ])('%s: no endpoint', (uri) => {
    expect(endpointOf(uri)).toBeUndefined();
  });
});
