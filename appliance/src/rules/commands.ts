/**
 * Argument lists of the commands that change Tollgate's kernel state, one builder per command,
 * shared by the compiler (desired state) and the engine (rollback and removal of live state).
 */
import {
  ROUTE_PROTO,
  type Family,
  type IpAddr,
  type IpRoute,
  type IpRule,
  type Sysctl,
} from "./model";

/** `ip -4 ...` / `ip -6 ...`. */
export function ipArgv(family: Family, ...rest: string[]): string[] {
  return ["ip", family === "ipv4" ? "-4" : "-6", ...rest];
}

/** Adds or deletes one of Tollgate's ip rules (tagged with its `proto`). */
export function ipRuleArgv(verb: "add" | "del", r: IpRule): string[] {
  return ipArgv(
    r.family,
    "rule",
    verb,
    "pref",
    String(r.pref),
    ...(r.iif ? ["iif", r.iif] : []),
    ...(r.src ? ["from", r.src] : []),
    ...(r.fwmark ? ["fwmark", r.fwmark] : []),
    "lookup",
    r.table,
    "proto",
    String(ROUTE_PROTO),
  );
}

/**
 * Replaces or deletes one of Tollgate's routes (tagged with its `proto`). `selector` names the
 * route: by default its type and destination; the compiler writes its default routes `default`.
 */
export function ipRouteArgv(
  verb: "replace" | "del",
  r: IpRoute,
  selector: readonly string[] = [r.type === "local" ? "local" : "unicast", r.dst],
): string[] {
  return ipArgv(
    r.family,
    "route",
    verb,
    ...selector,
    "dev",
    r.dev,
    "table",
    String(r.table),
    "proto",
    String(ROUTE_PROTO),
  );
}

/** Puts (link scope, no duplicate address detection) or deletes a REDIRECT address on gwi-X. */
export function ipAddrArgv(verb: "replace" | "del", a: IpAddr): string[] {
  const flags = verb === "del" ? [] : a.family === "ipv6" ? ["nodad"] : ["scope", "link"];
  return ipArgv(a.family, "addr", verb, a.address, "dev", a.dev, ...flags);
}

export function sysctlArgv(s: Sysctl): string[] {
  return ["sysctl", "-q", "-w", `${s.key}=${s.value}`];
}

export function ipsetDestroyArgv(name: string): string[] {
  return ["ipset", "destroy", name];
}

/** Adds a filter at `pref` on `dev`'s ingress qdisc; `rest` is the classifier and its actions. */
export function tcFilterAddArgv(
  dev: string,
  protocol: string,
  pref: number,
  ...rest: string[]
): string[] {
  return [
    "tc",
    "filter",
    "add",
    "dev",
    dev,
    "ingress",
    "protocol",
    protocol,
    "pref",
    String(pref),
    ...rest,
  ];
}

/** The mirred action: a copy of the packet (`mirror`) or the packet itself (`redirect`) to `dev`. */
export function mirredAction(how: "mirror" | "redirect", dev: string): string[] {
  return ["action", "mirred", "egress", how, "dev", dev];
}

/** Deletes the filter at `pref` on `dev`'s ingress qdisc. */
export function tcFilterDelArgv(f: { dev: string; pref: number }): string[] {
  return ["tc", "filter", "del", "dev", f.dev, "ingress", "pref", String(f.pref)];
}
