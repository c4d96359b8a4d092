/**
 * The uplink of `egress-nat` (where it masquerades): the rules file's `egressInterface`, or else
 * the interface of the host's IPv4 default route (`ip -4 -j route show default`), e.g. `ens5` on
 * Nitro instances and `eth0` on Xen ones. Resolved only when a present endpoint needs it; the
 * compiler gets the resolved name (as `defaults.egressInterface`) and stays pure.
 */
import type { CompiledRuleset, EndpointRef } from "./model";
import type { LoadedRules } from "./parse";
import type { CommandRunner } from "../command";
import { ipArgv } from "./commands";

export const UPLINK_KEY = "defaults.egressInterface";

/** Present endpoints in mode egress-nat whose section and defaults name no egressInterface. */
export function endpointsNeedingUplink(
  loaded: LoadedRules,
  refs: readonly EndpointRef[],
): string[] {
  const d = loaded.file.defaults ?? {};
  return refs
    .filter((ref) => {
      const s = loaded.endpoints.get(ref.gwi)?.section ?? {};
      return (
        (s.mode ?? d.mode) === "egress-nat" &&
        (s.egressInterface ?? d.egressInterface) === undefined
      );
    })
    .map((ref) => ref.gwi);
}

interface RouteJson {
  readonly dst?: string;
  readonly dev?: string;
  readonly metric?: number;
  readonly table?: string;
}

/**
 * The device of the IPv4 default route in `ip -4 -j route show default` output (the lowest
 * metric when there are several, as the kernel picks), or why there is none.
 */
export function uplinkFromRoutes(json: string): { dev: string } | { problem: string } {
  let routes: RouteJson[];
  try {
    routes = JSON.parse(json.trim() || "[]") as RouteJson[];
  } catch {
    return {
      problem: `cannot parse the output of ip -4 -j route show default: ${json.slice(0, 200)}`,
    };
  }
  const candidates = routes
    .filter((r) => (r.dst ?? "default") === "default" && (r.table ?? "main") === "main")
    .sort((a, b) => (a.metric ?? 0) - (b.metric ?? 0));
  const best = candidates[0];
  if (best === undefined) return { problem: "the host has no IPv4 default route" };
  if (best.dev === undefined)
    return { problem: "the IPv4 default route has no single device (multipath)" };
  return { dev: best.dev };
}

export interface UplinkResolution {
  /** The rules with `defaults.egressInterface` set to the uplink found (or unchanged). */
  readonly loaded: LoadedRules;
  readonly notes: readonly string[];
  readonly errors: readonly string[];
}

/**
 * Fills in the uplink from the default route when a present egress-nat endpoint names none.
 * Never throws: a missing route becomes an error naming the key to set.
 */
export async function resolveUplink(
  loaded: LoadedRules,
  refs: readonly EndpointRef[],
  runner: CommandRunner,
): Promise<UplinkResolution> {
  const users = endpointsNeedingUplink(loaded, refs);
  if (users.length === 0) return { loaded, notes: [], errors: [] };
  const argv = ipArgv("ipv4", "-j", "route", "show", "default");
  const r = await runner.run(argv);
  const found =
    r.code === 0
      ? uplinkFromRoutes(r.stdout)
      : { problem: `${argv.join(" ")} failed (exit ${r.code}): ${r.stderr.trim()}` };
  if ("problem" in found) {
    return {
      loaded,
      notes: [],
      errors: [
        `${users.join(", ")}: egress-nat needs an uplink and ${found.problem}: set ${UPLINK_KEY} (or the endpoint's egressInterface) to the interface to masquerade on, e.g. ens5`,
      ],
    };
  }
  const file = loaded.file;
  return {
    loaded: {
      ...loaded,
      file: { ...file, defaults: { ...file.defaults, egressInterface: found.dev } },
    },
    notes: [
      `egress-nat uplink: ${found.dev} (IPv4 default route; set ${UPLINK_KEY} to choose) for ${users.join(", ")}`,
    ],
    errors: [],
  };
}

/** The compiled rules with the resolution's notes and errors added. */
export function withUplinkMessages(c: CompiledRuleset, u: UplinkResolution): CompiledRuleset {
  if (u.notes.length === 0 && u.errors.length === 0) return c;
  return { ...c, notes: [...c.notes, ...u.notes], errors: [...c.errors, ...u.errors] };
}
