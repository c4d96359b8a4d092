/**
 * The health canary on the kernel path (pure byte builders; kernel.ts runs them, datapath.ts
 * checks what comes back).
 *
 * Design (chosen over a daemon-owned veth pair that would feed real frames to tg_decap): the
 * daemon wraps each probe in GENEVE as the GWLB would (Ethernet to the uplink's MAC, IPv4/UDP to
 * a local address from an allowed source, the three AWS options with the endpoint id) and runs
 * the loaded tg_decap on it with BPF_PROG_TEST_RUN, the skb's device being the uplink and its
 * mark a secret per-daemon value that tg_decap accepts as "the daemon's canary" instead of
 * punting canary-port datagrams. So the probe takes every step a real datagram takes in
 * tg_decap with the real maps (validation, tg_local, tg_sources, tg_endpoints, the tg_flows
 * insert, adjust_room) up to the redirect, which a test run does not perform: the daemon checks
 * the decapsulated output byte for byte, checks that tg_endpoints' redirect target is the
 * endpoint's gwi-X, and writes the canary into gwi-X itself. Past the kernel's forwarding,
 * tg_encap on gwo-X finds the canary's flow and encapsulates it like any reply, then hands it to
 * the tun instead of the uplink (the flow carries FLOW_CANARY): the daemon compares the frame
 * with the one a correct encapsulation gives (outer IPv4/UDP with checksums, the GENEVE header
 * as sent, the canary with its TTL decremented). The veth design would also exercise the
 * redirect itself, at the price of an interface pair, addresses in tg_local/tg_sources that
 * widen what tg_decap accepts on every uplink, sysctls, an AF_PACKET socket and their clean-up
 * and adoption across restarts; a test run needs none of it and cannot send anything anywhere.
 */
import { encodeGeneve } from "../geneve/codec";
import { buildUdpPacket } from "../packet/build";
import { ipv4HeaderChecksum } from "../packet/checksum";
import { GENEVE_PORT } from "../protocol";

/**
 * Source MAC of the canary datagram, so the destination MAC of tg_encap's output: locally
 * administered ("tgcny"). Its first byte can never start an IP packet read from a tun, which is
 * how the daemon tells the encapsulated canary from traffic.
 */
export const CANARY_GWLB_MAC = Buffer.from([0x02, 0x74, 0x67, 0x63, 0x6e, 0x79]);
const ETH_HLEN = 14;

/** Who the canary datagram claims to be from and to. */
export interface KernelCanarySpec {
  readonly endpointId: bigint;
  /** The uplink tg_decap runs for (its MAC: the frame must be for this host). */
  readonly uplinkMac: Buffer;
  /** An address in tg_local. */
  readonly local: string;
  /** An address tg_sources accepts (the GWLB's side). */
  readonly gwlb: string;
  readonly gwlbPort: number;
}

function ethernet(dst: Buffer, src: Buffer): Buffer {
  const eth = Buffer.alloc(ETH_HLEN);
  dst.copy(eth, 0);
  src.copy(eth, 6);
  eth.writeUInt16BE(0x0800, 12);
  return eth;
}

/** The GENEVE-wrapped canary as the GWLB would send it (Ethernet frame) and its GENEVE header. */
export function canaryDatagram(
  spec: KernelCanarySpec,
  canary: Buffer,
): { frame: Buffer; header: Buffer } {
  const header = encodeGeneve({ endpointId: spec.endpointId, attachmentId: 0n, flowCookie: 0 });
  const ip = buildUdpPacket({
    src: spec.gwlb,
    dst: spec.local,
    srcPort: spec.gwlbPort,
    dstPort: GENEVE_PORT,
    payload: Buffer.concat([header, canary]),
  });
  return { frame: Buffer.concat([ethernet(spec.uplinkMac, CANARY_GWLB_MAC), ip]), header };
}

/** The canary after one forwarding hop: TTL decremented, header checksum updated. */
export function forwardedCanary(canary: Buffer): Buffer {
  const p = Buffer.from(canary);
  p[8] = p[8]! - 1;
  p.writeUInt16BE(ipv4HeaderChecksum(p, 0), 10);
  return p;
}

/**
 * What tg_encap must produce for the forwarded canary: Ethernet back to the sender, IPv4 (DF,
 * TTL 64, id 0) from the local address to the GWLB, UDP from the GWLB's source port to 6081
 * with a full checksum, the GENEVE header as sent, the forwarded canary.
 */
export function encapsulatedCanary(
  spec: KernelCanarySpec,
  header: Buffer,
  forwarded: Buffer,
): Buffer {
  const ip = buildUdpPacket({
    src: spec.local,
    dst: spec.gwlb,
    ttl: 64,
    srcPort: spec.gwlbPort,
    dstPort: GENEVE_PORT,
    payload: Buffer.concat([header, forwarded]),
  });
  return Buffer.concat([ethernet(CANARY_GWLB_MAC, spec.uplinkMac), ip]);
}

/** True when buf[off, off + len) starts like the kernel path's encapsulated canary. */
export function looksEncapsulatedCanary(buf: Buffer, off: number, len: number): boolean {
  return len > ETH_HLEN && buf.compare(CANARY_GWLB_MAC, 0, 6, off, off + 6) === 0;
}
