/** Minimal IPv4 packet builders for the lab's pure tests (checksums are not checked by the parser). */
function ip4(addr: string): number[] {
  return addr.split(".").map(Number);
}

export function ipv4Packet(proto: number, src: string, dst: string, l4: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + l4.length, 2);
  h[8] = 64;
  h[9] = proto;
  Buffer.from(ip4(src)).copy(h, 12);
  Buffer.from(ip4(dst)).copy(h, 16);
  return Buffer.concat([h, l4]);
}

export function udpPacket(
  src: string,
  sport: number,
  dst: string,
  dport: number,
  payload = "x",
): Buffer {
  const body = Buffer.from(payload);
  const u = Buffer.alloc(8);
  u.writeUInt16BE(sport, 0);
  u.writeUInt16BE(dport, 2);
  u.writeUInt16BE(8 + body.length, 4);
  return ipv4Packet(17, src, dst, Buffer.concat([u, body]));
}

export function icmpEcho(src: string, dst: string): Buffer {
  const m = Buffer.alloc(8);
  m[0] = 8;
  return ipv4Packet(1, src, dst, m);
}
