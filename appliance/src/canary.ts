/**
 * The health canary's signature: a small IPv4/UDP packet the daemon writes into an endpoint's
 * gwi-X and expects to read back from its gwo-X, having crossed whatever the kernel, tc and the
 * rules do to real traffic (see datapath/canary.ts for the prober, rules/canary.ts for the rules
 * that let it through before user rules).
 *
 * Addresses are in RFC 2544's benchmarking range 198.18.0.0/15, which no real network routes;
 * the port is 0x7467 ("tg", like Tollgate's routing tables 0x7467xxxx). TTL 2: the one forwarding
 * hop through the appliance leaves 1, so even a canary that escaped would die at the next router.
 * The payload is a magic string and an 8-byte nonce (a per-daemon random word and a probe
 * sequence number), so only the daemon's own probes count as round trips.
 *
 * The data path never sends a packet with this signature to the GWLB (it is consumed when read
 * from a tun) and drops inner packets with it arriving from the GWLB (CANARY_SPOOFED), so the
 * rules' canary exception cannot be used to bypass a policy.
 */
import { addressBytes, buildUdpPacket } from "./packet/build";
import { IPPROTO_UDP, type PacketScratch } from "./packet/parse";

export const CANARY_SOURCE = "198.18.0.1";
export const CANARY_DESTINATION = "198.19.0.1";
export const CANARY_PORT = 0x7467;
export const CANARY_TTL = 2;
export const CANARY_MAGIC = Buffer.from("TOLLGATE-CANARY\0", "latin1");
/** Magic (16) + nonce (8). */
export const CANARY_PAYLOAD_LENGTH = CANARY_MAGIC.length + 8;

const SRC = Buffer.from(addressBytes(CANARY_SOURCE).bytes).readUInt32BE(0);
const DST = Buffer.from(addressBytes(CANARY_DESTINATION).bytes).readUInt32BE(0);

/** A canary packet carrying the nonce (instance, seq). */
export function buildCanary(instance: number, seq: number): Buffer {
  const payload = Buffer.alloc(CANARY_PAYLOAD_LENGTH);
  CANARY_MAGIC.copy(payload, 0);
  payload.writeUInt32BE(instance >>> 0, CANARY_MAGIC.length);
  payload.writeUInt32BE(seq >>> 0, CANARY_MAGIC.length + 4);
  return buildUdpPacket({
    src: CANARY_SOURCE,
    dst: CANARY_DESTINATION,
    ttl: CANARY_TTL,
    srcPort: CANARY_PORT,
    dstPort: CANARY_PORT,
    payload,
  });
}

/**
 * True when the packet located in `pkt` has the canary's addresses and ports (whatever its
 * payload): such a packet is never forwarded to or from the GWLB.
 */
export function hasCanarySignature(buf: Uint8Array, pkt: PacketScratch): boolean {
  if (pkt.family !== 4 || pkt.proto !== IPPROTO_UDP || !pkt.hasPorts) return false;
  if (pkt.dstPort !== CANARY_PORT || pkt.srcPort !== CANARY_PORT) return false;
  const s = pkt.srcOffset;
  const src = ((buf[s]! << 24) | (buf[s + 1]! << 16) | (buf[s + 2]! << 8) | buf[s + 3]!) >>> 0;
  const dst = ((buf[s + 4]! << 24) | (buf[s + 5]! << 16) | (buf[s + 6]! << 8) | buf[s + 7]!) >>> 0;
  return src === SRC && dst === DST;
}

/**
 * The nonce of a canary (a packet with the signature), or undefined when its payload is not a
 * canary payload.
 */
export function canaryNonce(
  buf: Buffer,
  pkt: PacketScratch,
): { instance: number; seq: number } | undefined {
  const p = pkt.l4Offset + 8;
  if (pkt.end - p < CANARY_PAYLOAD_LENGTH) return undefined;
  if (buf.compare(CANARY_MAGIC, 0, CANARY_MAGIC.length, p, p + CANARY_MAGIC.length) !== 0)
    return undefined;
  return {
    instance: buf.readUInt32BE(p + CANARY_MAGIC.length),
    seq: buf.readUInt32BE(p + CANARY_MAGIC.length + 4),
  };
}
