/**
 * Interface and hook naming, compatible with the reference tunnel handler (aws-samples
 * aws-gateway-load-balancer-tunnel-handler, `toBase60` and `MakeENIStr`), so existing hook
 * scripts keep working.
 */
import type { EndpointInfo } from "./endpoint-lifecycle";

/** Base-60 digits: 0-9, a-z, A-X. */
export const BASE60_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWX";

const U64_MAX = (1n << 64n) - 1n;

function checkU64(id: bigint): void {
  if (typeof id !== "bigint" || id < 0n || id > U64_MAX) {
    throw new RangeError(`endpoint id must be an unsigned 64-bit bigint, got ${String(id)}`);
  }
}

/**
 * The id in base 60, most significant digit first, no padding (0 is "0"). The largest 64-bit
 * value gives the 11-character "uur953OEv0f", so `gwi-` + id fits the 15-character limit.
 */
export function base60(id: bigint): string {
  checkU64(id);
  let v = id;
  let out = "";
  do {
    out = BASE60_DIGITS[Number(v % 60n)]! + out;
    v /= 60n;
  } while (v > 0n);
  return out;
}

/** Inverse of {@link base60}; undefined for a string that is not a valid base-60 64-bit id. */
export function parseBase60(text: string): bigint | undefined {
  if (text.length === 0 || text.length > 11) return undefined;
  let v = 0n;
  for (const ch of text) {
    const d = BASE60_DIGITS.indexOf(ch);
    if (d < 0) return undefined;
    v = v * 60n + BigInt(d);
  }
  return v > U64_MAX ? undefined : v;
}

/** Tun interface names for an endpoint: `gwi-<base60>` (ingress) and `gwo-<base60>` (egress). */
export function tunNames(id: bigint): { gwi: string; gwo: string } {
  const x = base60(id);
  return { gwi: `gwi-${x}`, gwo: `gwo-${x}` };
}

/**
 * The id in lower-case hex, zero-padded to 17 digits, as the reference passes it to hook scripts
 * (so `vpce-$4` names the GWLB endpoint).
 */
export function hex17(id: bigint): string {
  checkU64(id);
  return id.toString(16).padStart(17, "0");
}

/** Everything the lifecycle contract needs about an endpoint. */
export function endpointInfo(id: bigint): EndpointInfo {
  const { gwi, gwo } = tunNames(id);
  return { id, idHex17: hex17(id), gwi, gwo };
}
