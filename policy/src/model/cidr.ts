/** Pure CIDR arithmetic for IPv4 and IPv6 (parsed by ipaddr.js, BigInt based, no I/O). */
import ipaddr from "ipaddr.js";

export interface Cidr {
  readonly family: 4 | 6;
  readonly net: bigint;
  readonly len: number;
  readonly text: string;
}

/** Parses "a.b.c.d/n" or "x:y::/n" (host bits allowed, masked off); undefined for anything else. */
export function parseCidr(text: string | undefined): Cidr | undefined {
  if (!text) return undefined;
  const v4 = ipaddr.IPv4.isValidCIDRFourPartDecimal(text);
  if (!v4 && !(ipaddr.IPv6.isValidCIDR(text) && !text.includes("%"))) return undefined;
  const [addr, len] = ipaddr.parseCIDR(text);
  const bits = v4 ? 32 : 128;
  let v = 0n;
  for (const b of addr.toByteArray()) v = (v << 8n) | BigInt(b);
  return { family: v4 ? 4 : 6, net: mask(v, len, bits), len, text };
}

function mask(v: bigint, len: number, bits: number): bigint {
  const host = BigInt(bits - len);
  return (v >> host) << host;
}

/** True when `outer` contains `inner` (same family, outer no more specific). */
export function contains(outer: Cidr, inner: Cidr): boolean {
  if (outer.family !== inner.family || outer.len > inner.len) return false;
  const bits = outer.family === 4 ? 32 : 128;
  return mask(inner.net, outer.len, bits) === outer.net;
}

/** True when both denote exactly the same prefix. */
export function sameCidr(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && a.len === b.len && a.net === b.net;
}

export function isDefault(c: Cidr): boolean {
  return c.len === 0;
}
