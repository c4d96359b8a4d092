import * as ipaddr from "ipaddr.js";
import { collecting, configError } from "./errors";

/** A parsed, validated CIDR block. */
export interface Cidr {
  readonly kind: "ipv4" | "ipv6";
  /** Canonical text, e.g. `10.0.0.0/16`. */
  readonly text: string;
  readonly prefix: number;
  /** First address as an unsigned integer. */
  readonly first: bigint;
  /** Last address as an unsigned integer. */
  readonly last: bigint;
}

function toBigInt(addr: ipaddr.IPv4 | ipaddr.IPv6): bigint {
  let v = 0n;
  const bytes = addr.toByteArray();
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

function fromBigInt(kind: "ipv4" | "ipv6", v: bigint): ipaddr.IPv4 | ipaddr.IPv6 {
  const n = kind === "ipv4" ? 4 : 16;
  const bytes: number[] = [];
  for (let i = n - 1; i >= 0; i--) bytes.push(Number((v >> BigInt(i * 8)) & 0xffn));
  return ipaddr.fromByteArray(bytes);
}

function bits(kind: "ipv4" | "ipv6"): number {
  return kind === "ipv4" ? 32 : 128;
}

function make(kind: "ipv4" | "ipv6", first: bigint, prefix: number): Cidr {
  const size = 1n << BigInt(bits(kind) - prefix);
  const addr = fromBigInt(kind, first);
  return { kind, text: `${addr.toString()}/${prefix}`, prefix, first, last: first + size - 1n };
}

/**
 * Parses `value` as a CIDR block of the given family. Throws a {@link ConfigError} naming `key` when
 * the text is not a CIDR, is of the other family or has host bits set.
 */
export function parseCidr(key: string, value: unknown, family: "ipv4" | "ipv6" = "ipv4"): Cidr {
  const example = family === "ipv4" ? "10.0.0.0/16" : "2600:1f18:1234:5600::/56";
  if (typeof value !== "string" || !ipaddr.isValidCIDR(value)) {
    throw configError(
      key,
      `${JSON.stringify(value)} is not a CIDR block`,
      `use a block such as ${example}`,
    );
  }
  const [addr, prefix] = ipaddr.parseCIDR(value);
  const kind = addr.kind();
  if (kind !== family) {
    throw configError(
      key,
      `${value} is an ${kind} block, expected ${family}`,
      `use a block such as ${example}`,
    );
  }
  const v = toBigInt(addr);
  const hostBits = BigInt(bits(kind) - prefix);
  const first = (v >> hostBits) << hostBits;
  if (first !== v) {
    const canonical = make(kind, first, prefix).text;
    throw configError(key, `${value} has host bits set`, `use ${canonical}`);
  }
  return make(kind, first, prefix);
}

/** True when the two blocks share at least one address. */
export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.kind === b.kind && a.first <= b.last && b.first <= a.last;
}

/** True when `inner` lies completely inside `outer`. */
export function contains(outer: Cidr, inner: Cidr): boolean {
  return outer.kind === inner.kind && outer.first <= inner.first && inner.last <= outer.last;
}

/** The `index`-th block of length `prefix` inside `base` (like Terraform's `cidrsubnet`). */
export function subnet(base: Cidr, prefix: number, index: number): Cidr {
  if (prefix < base.prefix || prefix > bits(base.kind)) {
    throw new RangeError(`prefix /${prefix} does not fit in ${base.text}`);
  }
  const count = 1n << BigInt(prefix - base.prefix);
  if (index < 0 || BigInt(index) >= count) {
    throw new RangeError(`subnet index ${index} out of range for /${prefix} in ${base.text}`);
  }
  const size = 1n << BigInt(bits(base.kind) - prefix);
  return make(base.kind, base.first + BigInt(index) * size, prefix);
}

/** The `index`-th /64 of an IPv6 block given as text (a VPC's Amazon-provided /56). */
export function ipv6Subnet64(vpcIpv6Cidr: string, index: number): string {
  return subnet(parseCidr("ipv6CidrBlock", vpcIpv6Cidr, "ipv6"), 64, index).text;
}

/**
 * Checks that no two of the named blocks overlap; throws a {@link ConfigError} naming the later key
 * of every overlapping pair.
 */
export function assertDisjoint(blocks: readonly { key: string; cidr: Cidr }[]): void {
  collecting((p) => {
    for (let i = 0; i < blocks.length; i++) {
      for (let j = 0; j < i; j++) {
        const a = blocks[j]!;
        const b = blocks[i]!;
        if (overlaps(a.cidr, b.cidr)) {
          p.add(
            configError(
              b.key,
              `${b.cidr.text} overlaps ${a.cidr.text} (tollgate:${a.key})`,
              "give every VPC and subnet its own non-overlapping range",
            ),
          );
        }
      }
    }
  });
}
