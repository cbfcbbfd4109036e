/**
 * A session's SIP trace as a pcap file (libpcap, LINKTYPE_RAW) for Wireshark and sngrep: each message
 * one IP packet between the peer and the pivot, at the time it crossed the wire. Every message is
 * written as a UDP datagram, TCP ones too (the trace keeps messages, not segments), which both tools
 * decode as SIP.
 */
import net from 'node:net';
import type { TracedMessage } from './store.ts';

const LINKTYPE_RAW = 101;
const UDP = 17;

/** IPv4 dotted quad or IPv6 text -> bytes; anything else (a host name) -> undefined. */
function addressBytes(host: string): Buffer | undefined {
  if (net.isIPv4(host)) return Buffer.from(host.split('.').map(Number));
  if (!net.isIPv6(host)) return undefined;
  let text = host.replace(/^\[|\]$/g, '').split('%')[0]!;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4[1]!.split('.').map(Number) as [number, number, number, number];
    text = text.replace(v4[1]!, `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`);
  }
  const [head = '', tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups =
    tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  const bytes = Buffer.alloc(16);
  groups.forEach((group, i) => {
    bytes.writeUInt16BE(Number.parseInt(group || '0', 16), i * 2);
  });
  return bytes;
}

function checksum(header: Buffer): number {
  let sum = 0;
  for (let i = 0; i < header.length; i += 2) sum += header.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function ipPacket(source: Buffer, destination: Buffer, udp: Buffer, id: number): Buffer {
  if (source.length === 4) {
    const header = Buffer.alloc(20);
    header[0] = 0x45;
    header.writeUInt16BE(20 + udp.length, 2);
    header.writeUInt16BE(id & 0xffff, 4);
    header.writeUInt16BE(0x4000, 6); // don't fragment
    header[8] = 64;
    header[9] = UDP;
    source.copy(header, 12);
    destination.copy(header, 16);
    header.writeUInt16BE(checksum(header), 10);
    return Buffer.concat([header, udp]);
  }
  const header = Buffer.alloc(40);
  header.writeUInt32BE(0x60000000, 0);
  header.writeUInt16BE(udp.length, 4);
  header[6] = UDP;
  header[7] = 64;
  source.copy(header, 8);
  destination.copy(header, 24);
  return Buffer.concat([header, udp]);
}

export function toPcap(messages: TracedMessage[]): Buffer {
  const global = Buffer.alloc(24);
  global.writeUInt32LE(0xa1b2c3d4, 0);
  global.writeUInt16LE(2, 4);
  global.writeUInt16LE(4, 6);
  global.writeUInt32LE(65_535, 16);
  global.writeUInt32LE(LINKTYPE_RAW, 20);
  const records = messages.map((m, index) => {
    const remote = addressBytes(m.remoteHost) ?? Buffer.alloc(4);
    // The pivot's address in the peer's family (unspecified when the trace does not know it).
    const own = m.localHost ? addressBytes(m.localHost) : undefined;
    const local = own && own.length === remote.length ? own : Buffer.alloc(remote.length);
    const localPort = m.localPort ?? 5060;
    const payload = Buffer.from(m.text, 'utf8');
    const udp = Buffer.alloc(8);
    udp.writeUInt16BE(m.direction === 'in' ? m.remotePort : localPort, 0);
    udp.writeUInt16BE(m.direction === 'in' ? localPort : m.remotePort, 2);
    udp.writeUInt16BE(Math.min(8 + payload.length, 0xffff), 4);
    const packet = ipPacket(
      m.direction === 'in' ? remote : local,
      m.direction === 'in' ? local : remote,
      Buffer.concat([udp, payload]),
      index,
    );
    const at = Date.parse(m.at);
    const header = Buffer.alloc(16);
    header.writeUInt32LE(Math.floor(at / 1000), 0);
    header.writeUInt32LE((at % 1000) * 1000, 4);
    header.writeUInt32LE(packet.length, 8);
    header.writeUInt32LE(packet.length, 12);
    return Buffer.concat([header, packet]);
  });
  return Buffer.concat([global, ...records]);
}
