/**
 * Malformed GENEVE datagrams, one or more per decoder drop reason, derived from a valid flow and
 * inner packet. Integration tests send them next to good traffic and check each is dropped and
 * counted under its reason while the good traffic keeps flowing.
 */
import { encodeGeneve, type GeneveDropReason } from "@tollgate/appliance";
import type { PeerFlow } from "./flows";

export interface MalformedDatagram {
  /** Short description of the defect. */
  readonly name: string;
  /** The drop reason a conforming decoder reports. */
  readonly reason: GeneveDropReason;
  readonly bytes: Buffer;
}

/** Builds the malformed variants of (flow, inner). `inner` must be an IPv4 or IPv6 packet. */
export function malformedDatagrams(flow: PeerFlow, inner: Buffer): MalformedDatagram[] {
  const good = encodeGeneve(
    {
      endpointId: flow.endpointId,
      attachmentId: flow.attachmentId,
      flowCookie: flow.flowCookie,
      vni: flow.vni ?? 0,
    },
    inner,
  );
  const edit = (f: (b: Buffer) => void): Buffer => {
    const b = Buffer.from(good);
    f(b);
    return b;
  };
  const v6 = inner[0]! >> 4 === 6;
  return [
    { name: "7-byte datagram", reason: "TOO_SHORT", bytes: good.subarray(0, 7) },
    { name: "version 1", reason: "BAD_VERSION", bytes: edit((b) => (b[0] = b[0]! | 0x40)) },
    { name: "options longer than datagram", reason: "BAD_OPTLEN", bytes: good.subarray(0, 36) },
    { name: "OAM bit set", reason: "OAM", bytes: edit((b) => (b[1] = 0x80)) },
    {
      name: "Ethernet protocol type",
      reason: "UNSUPPORTED_PROTOCOL",
      bytes: edit((b) => b.writeUInt16BE(0x6558, 2)),
    },
    { name: "endpoint option 12 bytes", reason: "BAD_OPTION", bytes: edit((b) => (b[11] = 3)) },
    { name: "cookie option overruns", reason: "BAD_OPTION", bytes: edit((b) => (b[35] = 2)) },
    {
      name: "unknown critical option",
      reason: "UNKNOWN_CRITICAL_OPTION",
      bytes: edit((b) => {
        b[1] = 0x40;
        b.writeUInt16BE(0xffff, 32);
        b[34] = 0x85;
      }),
    },
    { name: "no flow cookie", reason: "MISSING_AWS_OPTION", bytes: edit((b) => (b[34] = 9)) },
    { name: "two endpoint ids", reason: "DUPLICATE_AWS_OPTION", bytes: edit((b) => (b[22] = 1)) },
    { name: "no inner packet", reason: "EMPTY_PAYLOAD", bytes: good.subarray(0, 40) },
    {
      name: "inner version does not match protocol type",
      reason: "INNER_VERSION_MISMATCH",
      bytes: edit((b) => b.writeUInt16BE(v6 ? 0x0800 : 0x86dd, 2)),
    },
  ];
}
