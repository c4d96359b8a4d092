/**
 * The destination and target of a route entry: a Route resource, or one of a RouteTable's inline
 * `routes` (inline entries share the RouteTable's "routes" dependencies, so they resolve by value).
 */
import type { PolicyResource } from "@pulumi/policy/policy";
import { parseCidr } from "./cidr";
import type { Graph } from "./graph";
import type { Dest, Target, TargetKind } from "./nodes";
import { labelOf } from "./stack-index";
import { T } from "./types";
import { Bag, bag, str, unwrap } from "./values";

/** Target keys of a route entry, in the order they are tried, with the kind and resource types. */
const TARGET_KEYS: readonly (readonly [key: string, kind: TargetKind, types: string[]])[] = [
  ["vpcEndpointId", "gwlbe", [T.vpce]],
  ["natGatewayId", "nat", [T.nat]],
  ["transitGatewayId", "tgw", [T.tgw]],
  ["egressOnlyGatewayId", "egw", [T.egw]],
  ["networkInterfaceId", "eni", [T.eni]],
  ["vpcPeeringConnectionId", "peering", []],
  ["gatewayId", "igw", [T.igw]],
  ["localGatewayId", "other", []],
  ["carrierGatewayId", "other", []],
  ["coreNetworkArn", "other", []],
];

/** Names of route target kinds, as labels use them. */
const KIND_NAMES: Record<TargetKind, string> = {
  gwlbe: "GWLB endpoint",
  vpce: "VPC endpoint",
  igw: "internet gateway",
  egw: "egress-only internet gateway",
  vgw: "virtual private gateway",
  nat: "NAT gateway",
  tgw: "transit gateway",
  eni: "network interface",
  peering: "VPC peering connection",
  local: "local",
  other: "gateway",
  unknown: "(unknown during preview)",
};

/** True when `entry[key]` is a non-empty string or (for a Route resource) has dependencies. */
function present(from: PolicyResource, raw: unknown, key: string, inline: boolean): boolean {
  const hasDeps = !inline && (from.propertyDependencies?.[key]?.length ?? 0) > 0;
  return (typeof raw === "string" && raw !== "") || hasDeps;
}

/** The target of a route entry: the first target key present decides. */
export function targetOf(
  g: Graph,
  from: PolicyResource,
  entry: Bag,
  inline: boolean,
): Target | undefined {
  for (const [key, kind, types] of TARGET_KEYS) {
    const raw = unwrap(entry[key]);
    if (!present(from, raw, key, inline)) continue;
    const literal = str(raw);
    if (key === "gatewayId" && literal === "local") return { kind: "local", label: "local" };
    const depKey = inline ? "routes" : key;
    const res = types.length > 0 ? g.index.ref(from, depKey, raw, types) : undefined;
    if (res) return stackTarget(g, res, kind);
    return literalTarget(g, key, kind, literal);
  }
  return undefined;
}

/** A target the stack declares: its node when the topology has one. */
function stackTarget(g: Graph, res: PolicyResource, kind: TargetKind): Target {
  if (res.type === T.vpce) {
    const e = g.endpoints.get(res.urn);
    const isGwlb = str(bag(res.props).vpcEndpointType) === "GatewayLoadBalancer";
    return {
      kind: isGwlb ? "gwlbe" : "vpce",
      node: e,
      label: e?.label ?? labelOf(res, "VPC endpoint"),
    };
  }
  if (res.type === T.nat) {
    const n = g.nats.get(res.urn);
    return { kind: "nat", node: n, label: n?.label ?? labelOf(res, "NAT gateway") };
  }
  if (res.type === T.igw) {
    const gw = g.igws.get(res.urn);
    return { kind: "igw", node: gw, label: gw?.label ?? labelOf(res, "internet gateway") };
  }
  const label = labelOf(res, KIND_NAMES[kind]);
  return { kind, node: { res, p: bag(res.props), urn: res.urn, label }, label };
}

/** A target named by id only (outside the stack, or unknown during preview). */
function literalTarget(
  g: Graph,
  key: string,
  kind: TargetKind,
  literal: string | undefined,
): Target {
  if (kind === "igw" && literal) {
    const gw = g.igws.get(`id:${literal}`);
    if (gw) return { kind: "igw", node: gw, label: gw.label };
  }
  const k = key === "gatewayId" && literal?.startsWith("vgw-") ? "vgw" : kind;
  return {
    kind: k,
    label: literal ? `${KIND_NAMES[k]} ${literal}` : `${KIND_NAMES[k]} (unknown during preview)`,
  };
}

/** The destination of a route entry: a prefix list, else the IPv4 key, else the IPv6 key. */
export function destOf(
  g: Graph,
  from: PolicyResource,
  entry: Bag,
  keys: readonly [v4Key: string, v6Key: string],
  inline: boolean,
): Dest | undefined {
  const pl = prefixListDest(g, from, entry, inline);
  if (pl) return pl;
  for (const [key, family] of [
    [keys[0], 4],
    [keys[1], 6],
  ] as const) {
    const raw = unwrap(entry[key]);
    if (!present(from, raw, key, inline)) continue;
    const literal = str(raw);
    if (literal) {
      const cidr = parseCidr(literal);
      return { text: literal, cidr, family: cidr?.family ?? family };
    }
    // A block given by reference to a subnet: unknown during preview.
    const sres = inline ? undefined : g.index.ref(from, key, raw, [T.subnet]);
    const subnet = sres ? g.subnetsByUrn.get(sres.urn) : undefined;
    return {
      text: subnet
        ? `${family === 6 ? "IPv6 block" : "block"} of ${subnet.label}`
        : "(unknown during preview)",
      family,
      subnet,
    };
  }
  return undefined;
}

/**
 * A prefix-list destination: its CIDRs when the stack defines the list (a ManagedPrefixList and its
 * entries), else only its id (AWS-managed or outside the stack: not walked).
 */
function prefixListDest(
  g: Graph,
  from: PolicyResource,
  entry: Bag,
  inline: boolean,
): Dest | undefined {
  const key = "destinationPrefixListId";
  const raw = unwrap(entry[key]);
  if (!present(from, raw, key, inline)) return undefined;
  const literal = str(raw);
  const res = g.index.ref(from, inline ? "routes" : key, raw, [T.prefixList]);
  const entries = res ? g.prefixLists.get(res.urn) : undefined;
  return {
    text: res ? labelOf(res, "prefix list") : (literal ?? "prefix list (unknown during preview)"),
    prefixList: literal ?? res?.urn ?? "(unknown)",
    entries,
    family: entries?.[0]?.family,
  };
}
