/**
 * Safe access to policy property bags.
 *
 * The engine hands policies `props` wrapped in an unknown-checking proxy that throws
 * `UnknownValueError` on any read of a value that is unknown during preview. Stack policies in this
 * pack must keep working at preview (ids are unknown there), so they unwrap the proxy once and test
 * for the unknown sentinels themselves instead of tripping the proxy.
 */

/** The string the engine writes for an unknown (computed) string value. */
export const UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

// Sentinels the engine uses for unknown values (same strings as @pulumi/policy's proxy and
// `pulumi stack export` / `pulumi preview --json` computed placeholders).
export const UNKNOWN_SENTINELS: ReadonlySet<string> = new Set([
  "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7", // boolean
  "3eeb2bf0-c639-47a8-9e75-3b44932eb421", // number
  UNKNOWN_STRING, // string
  "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2", // array
  "030794c1-ac77-496b-92df-f27374a8bd58", // asset
  "e48ece36-62e2-4504-bad9-02848725956a", // archive
  "dd056dcd-154b-4c76-9bd3-c8f88648b5ff", // object
]);

const IS_PROXY = "__isSpecialProxy";
const PROXY_TARGET = "__getSpecialProxyTarget";

/** True when `v` is one of the engine's unknown sentinels. */
export function isUnknown(v: unknown): boolean {
  return typeof v === "string" && UNKNOWN_SENTINELS.has(v);
}

/** Returns the plain object behind an unknown-checking proxy (or `v` itself). */
export function unwrap<T>(v: T): T {
  if (v !== null && typeof v === "object") {
    const o = v as unknown as Record<string, unknown>;
    if (o[IS_PROXY] === true) {
      return o[PROXY_TARGET] as T;
    }
  }
  return v;
}

export type Bag = Record<string, unknown>;

/** A plain record view of a property bag; never throws on unknowns. */
export function bag(v: unknown): Bag {
  const u = unwrap(v);
  return u !== null && typeof u === "object" && !Array.isArray(u) ? (u as Bag) : {};
}

/** A known string value, or undefined when absent or unknown. */
export function str(v: unknown): string | undefined {
  const u = unwrap(v);
  return typeof u === "string" && !isUnknown(u) && u !== "" ? u : undefined;
}

/** A known array value (elements untouched), or [] when absent or unknown. */
export function arr(v: unknown): unknown[] {
  const u = unwrap(v);
  return Array.isArray(u) ? u : [];
}

/** A known boolean, accepting the provider's "true"/"false" strings. */
export function bool(v: unknown): boolean | undefined {
  const u = unwrap(v);
  if (typeof u === "boolean") return u;
  if (u === "true") return true;
  if (u === "false") return false;
  return undefined;
}

/** A known number, accepting numeric strings. */
export function num(v: unknown): number | undefined {
  const u = unwrap(v);
  if (typeof u === "number" && Number.isFinite(u)) return u;
  if (typeof u === "string" && !isUnknown(u) && u.trim() !== "" && Number.isFinite(Number(u))) {
    return Number(u);
  }
  return undefined;
}

/** Name of a resource from its URN (`urn:pulumi:stack::project::type::name`). */
export function nameFromUrn(urn: string): string {
  const i = urn.lastIndexOf("::");
  return i >= 0 ? urn.slice(i + 2) : urn;
}
