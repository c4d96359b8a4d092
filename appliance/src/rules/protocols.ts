/**
 * Protocol and ICMP type names the rules file accepts, with their numbers: one table for the rule
 * compiler, the tc mirror filters and the lab's expected verdicts.
 */
import type { Family } from "./model";
import type { PROTOCOLS } from "./schema";

/** A protocol name of the rules file other than "all". */
export type ProtocolName = Exclude<(typeof PROTOCOLS)[number], "all">;

/** IANA protocol number of each protocol name. */
export const PROTOCOL_NUMBERS: Readonly<Record<ProtocolName, number>> = {
  tcp: 6,
  udp: 17,
  icmp: 1,
  icmpv6: 58,
  sctp: 132,
  gre: 47,
  esp: 50,
  ah: 51,
};

/** The protocol name of an IANA protocol number, when the rules file has one. */
export function protocolName(n: number): ProtocolName | undefined {
  return (Object.keys(PROTOCOL_NUMBERS) as ProtocolName[]).find((k) => PROTOCOL_NUMBERS[k] === n);
}

/** ICMP (ipv4) and ICMPv6 (ipv6) type names as iptables/ip6tables know them. */
export const ICMP_TYPES: Readonly<Record<Family, Readonly<Record<string, number>>>> = {
  ipv4: {
    "echo-reply": 0,
    "destination-unreachable": 3,
    "source-quench": 4,
    redirect: 5,
    "echo-request": 8,
    "router-advertisement": 9,
    "router-solicitation": 10,
    "time-exceeded": 11,
    "parameter-problem": 12,
    "timestamp-request": 13,
    "timestamp-reply": 14,
  },
  ipv6: {
    "destination-unreachable": 1,
    "packet-too-big": 2,
    "time-exceeded": 3,
    "parameter-problem": 4,
    "echo-request": 128,
    "echo-reply": 129,
    "router-solicitation": 133,
    "router-advertisement": 134,
    "neighbour-solicitation": 135,
    "neighbor-solicitation": 135,
    "neighbour-advertisement": 136,
    "neighbor-advertisement": 136,
  },
};
