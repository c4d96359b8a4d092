/**
 * IPv4 CIDRs of the sources allowed to send GENEVE (`--gwlb-cidr` / `gwlbCidrs`): validated with
 * ipaddr.js, and compiled into (network, mask) pairs the data path checks each datagram's source
 * address against. GWLB always sends GENEVE over IPv4, so only IPv4 CIDRs are accepted.
 */
import ipaddr from "ipaddr.js";

/** Why `text` is not a usable IPv4 CIDR (with the fix), or undefined when it is. */
export function ipv4CidrProblem(text: string): string | undefined {
  const example = "e.g. 10.0.1.0/28, the GWLB subnet's CIDR (one address: 10.0.1.5/32)";
  if (!ipaddr.IPv4.isValidCIDRFourPartDecimal(text)) {
    return ipaddr.IPv6.isValidCIDR(text)
      ? `"${text}" is an IPv6 CIDR; GWLB sends GENEVE over IPv4 only: give the IPv4 CIDRs of its subnets`
      : `"${text}" is not an IPv4 CIDR (${example})`;
  }
  const [addr, bits] = ipaddr.IPv4.parseCIDR(text);
  const network = ipaddr.IPv4.networkAddressFromCIDR(text).toString();
  if (network !== addr.toString()) {
    return `"${text}" has host bits set: did you mean ${network}/${bits}?`;
  }
  return undefined;
}

/** A compiled allow list: `(address & masks[i]) === networks[i]` for some i (host byte order). */
export interface SourceAllowList {
  readonly cidrs: readonly string[];
  readonly networks: Uint32Array;
  readonly masks: Uint32Array;
}

/** Compiles validated CIDRs (see {@link ipv4CidrProblem}); throws RangeError on an invalid one. */
export function compileSourceAllowList(cidrs: readonly string[]): SourceAllowList {
  const networks = new Uint32Array(cidrs.length);
  const masks = new Uint32Array(cidrs.length);
  const canonical: string[] = [];
  cidrs.forEach((cidr, i) => {
    const problem = ipv4CidrProblem(cidr);
    if (problem) throw new RangeError(problem);
    const [addr, bits] = ipaddr.IPv4.parseCIDR(cidr);
    const b = addr.toByteArray();
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    networks[i] = ((((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0) & mask) >>> 0;
    masks[i] = mask;
    canonical.push(`${addr.toString()}/${bits}`);
  });
  return { cidrs: canonical, networks, masks };
}

/** True when `address` (IPv4, host byte order) is inside one of the list's CIDRs. */
export function sourceAllowed(list: SourceAllowList, address: number): boolean {
  const { networks, masks } = list;
  for (let i = 0; i < networks.length; i++) {
    if ((address & masks[i]!) >>> 0 === networks[i]) return true;
  }
  return false;
}
