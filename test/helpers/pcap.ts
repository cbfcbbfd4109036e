/** Reads back a capture the SIP trace wrote (src/trace/pcap.ts: libpcap, LINKTYPE_RAW, UDP). */
import { expect } from 'vitest';

export interface Packet {
  at: number;
  source: string;
  destination: string;
  sourcePort: number;
  destinationPort: number;
  payload: string;
  headerValid: boolean;
}

const hex = (bytes: Buffer) =>
  Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2).toString(16)).join(':');

/** Reads a capture toPcap wrote (LINKTYPE_RAW, UDP). */
export function readPcap(file: Buffer): Packet[] {
  expect(file.readUInt32LE(0)).toBe(0xa1b2c3d4);
  expect([file.readUInt16LE(4), file.readUInt16LE(6)]).toEqual([2, 4]);
  expect(file.readUInt32LE(20)).toBe(101);
  const packets: Packet[] = [];
  for (let at = 24; at < file.length; ) {
    const length = file.readUInt32LE(at + 8);
    const packet = file.subarray(at + 16, at + 16 + length);
    const v4 = packet[0]! >> 4 === 4;
    const ip = v4 ? 20 : 40;
    let sum = 0;
    for (let i = 0; i < 20; i += 2) sum += packet.readUInt16BE(i);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    packets.push({
      at: file.readUInt32LE(at) * 1000 + file.readUInt32LE(at + 4) / 1000,
      source: v4 ? [...packet.subarray(12, 16)].join('.') : hex(packet.subarray(8, 24)),
      destination: v4 ? [...packet.subarray(16, 20)].join('.') : hex(packet.subarray(24, 40)),
      sourcePort: packet.readUInt16BE(ip),
      destinationPort: packet.readUInt16BE(ip + 2),
      payload: packet.subarray(ip + 8).toString('utf8'),
      headerValid: v4 ? sum === 0xffff : packet.readUInt16BE(4) === length - 40,
    });
    at += 16 + length;
  }
  return packets;
}
