/** Pure CIDR arithmetic for IPv4 and IPv6 (BigInt based, no I/O). */

export interface Cidr {
  readonly family: 4 | 6;
  readonly net: bigint;
  readonly len: number;
  readonly text: string;
}

function parseV4(addr: string): bigint | undefined {
  const parts = addr.split(".");
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseV6(text: string): bigint | undefined {
  let addr = text;
  // Embedded IPv4 in the last 32 bits (::ffff:192.0.2.1): rewrite as two hex groups.
  const lastColon = addr.lastIndexOf(":");
  if (addr.includes(".") && lastColon >= 0) {
    const v4 = parseV4(addr.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    addr = `${addr.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = addr.split("::");
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  let v = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    v = (v << 16n) | BigInt(parseInt(g, 16));
  }
  return v;
}

/** Parses "a.b.c.d/n" or "x:y::/n"; returns undefined for anything else. */
export function parseCidr(text: string | undefined): Cidr | undefined {
  if (!text) return undefined;
  const slash = text.indexOf("/");
  if (slash < 0) return undefined;
  const addr = text.slice(0, slash);
  const lenText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText)) return undefined;
  const len = Number(lenText);
  const v4 = parseV4(addr);
  if (v4 !== undefined) {
    if (len > 32) return undefined;
    return { family: 4, net: mask(v4, len, 32), len, text };
  }
  const v6 = parseV6(addr);
  if (v6 !== undefined) {
    if (len > 128) return undefined;
    return { family: 6, net: mask(v6, len, 128), len, text };
  }
  return undefined;
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
