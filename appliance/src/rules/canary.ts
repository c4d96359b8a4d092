/**
 * What the compiled rules add for the health canary (see ../canary.ts): the canary crosses the
 * same forwarding path as real traffic but is accepted before the endpoint's user rules, so a
 * drop-everything policy stays a policy and not a health failure. Anything else that breaks
 * forwarding (rules not applied, routing gone, tools missing) breaks the canary too.
 *
 * - filter TOLLGATE-FORWARD: `-i gwi-X <canary signature> -j ACCEPT`, just before the jump to the
 *   endpoint's chain. The data path drops packets with this signature coming from the GWLB, so
 *   only the daemon's probes can match it.
 * - egress-nat: real traffic leaves through the uplink (`iif gwi-X lookup main`); a policy-routing
 *   rule for the canary's source address only sends the canary to the endpoint's table (default
 *   dev gwo-X) instead, so it comes back to the daemon and never leaves the appliance.
 */
import { CANARY_DESTINATION, CANARY_PORT, CANARY_SOURCE } from "../canary";
import type { IpRule } from "./model";

/** The filter rule accepting endpoint `gwi`'s canary (IPv4 only: the canary is IPv4). */
export function canaryAcceptRule(gwi: string): string {
  return `-s ${CANARY_SOURCE}/32 -d ${CANARY_DESTINATION}/32 -i ${gwi} -p udp -m udp --sport ${CANARY_PORT} --dport ${CANARY_PORT} -j ACCEPT`;
}

/** egress-nat: routes the canary from `gwi` to the endpoint's own table (default dev gwo-X). */
export function canaryIpRule(gwi: string, pref: number, table: number): IpRule {
  return { family: "ipv4", pref, iif: gwi, src: `${CANARY_SOURCE}/32`, table: String(table) };
}
