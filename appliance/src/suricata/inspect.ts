/**
 * How traffic reaches Suricata (the netfilter side, used by the rule compiler):
 *
 * - `ips`: `NFQUEUE --queue-num N` in mangle FORWARD; Suricata (`-q N`) gives the verdict. With
 *   `failure: open`, `--queue-bypass` makes the kernel accept packets while no program listens on
 *   the queue (Suricata down), and Suricata's `nfq.fail-open` makes it accept them while the
 *   queue is full (overloaded). With `failure: closed` both are dropped.
 * - `ids`: `TEE` clones each packet to a gateway on the monitor link, a veth pair
 *   `tgids0` -> `tgids1` that Suricata reads with AF_PACKET; nothing is blocked. TEE rather
 *   than tc mirred: gwi-X is a tun interface without link-layer header, so a mirred copy would
 *   reach an Ethernet device without one (Suricata would decode garbage), while TEE routes the
 *   clone and the kernel builds a proper Ethernet frame; and in mangle FORWARD behind the
 *   endpoint's mark it copies both directions (egress-nat replies too) with the full match
 *   vocabulary (sets, direction).
 *
 * Mangle FORWARD runs before filter FORWARD, so Suricata's accept still meets the endpoint's
 * filter rules, and what Tollgate marks/redirects in PREROUTING happened before.
 */
import type { JumpSpec } from "../rules/model";
import type { RulesFile } from "../rules/schema";

export type SuricataSection = NonNullable<RulesFile["suricata"]>;
export type InspectionFamily = "ipv4" | "ipv6";

/** mangle FORWARD -> TOLLGATE-FORWARD, present while a `suricata:` section is. */
export const INSPECTION_JUMP: JumpSpec = {
  table: "mangle",
  from: "FORWARD",
  to: "TOLLGATE-FORWARD",
};

/**
 * The monitor link of `ids` mode: TEE sends clones to `gateway` out of `tx` (whose neighbour
 * entry for it is a fixed MAC that is not `rx`'s, so `rx`'s own stack drops them as
 * PACKET_OTHERHOST); Suricata reads `rx`.
 */
export const MONITOR_LINK = {
  tx: "tgids0",
  rx: "tgids1",
  /** Address of tx (IPv4); the gateway is the other address of the /30. */
  address: "169.254.116.1/30",
  gateway: { ipv4: "169.254.116.2", ipv6: "fe80::7467:2" },
  /** Neighbour MAC of the gateways (locally administered, never rx's). */
  mac: "02:74:67:00:00:02",
  /** Clones of 8500-byte packets must not be fragmented (nor trigger ICMP to the client). */
  mtu: 65535,
} as const;

/** The NFQUEUE target (ips) or the TEE target (ids) of one family. */
export function inspectionTarget(section: SuricataSection, family: InspectionFamily): string {
  if (section.mode === "ids")
    return `TEE --gateway ${MONITOR_LINK.gateway[family]} --oif ${MONITOR_LINK.tx}`;
  const q = `NFQUEUE --queue-num ${section.queue ?? 0}`;
  return section.failure === "open" ? `${q} --queue-bypass` : q;
}
