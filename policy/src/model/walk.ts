/**
 * "Follow the packet": walks route tables hop by hop from an inspected subnet to its exit and back.
 * Pure functions over the Topology; every step is a map lookup, so a walk is O(path length).
 */
import {
  DEFAULT_V4,
  DEFAULT_V6,
  Dest,
  EndpointNode,
  GatewayNode,
  lookup,
  NatNode,
  RouteTableNode,
  SubnetNode,
  subnetDest,
  TargetKind,
  Topology,
  VpcNode,
} from "./topology";
import { Cidr, parseCidr } from "./cidr";

export type PathProblem = "skips-inspection" | "crosses-az" | "different-endpoint" | "loop";

/**
 * How a walk ended: reached its destination (the internet, a gateway, the subnet, the spoke),
 * dropped (no route or no route table), undecidable during preview, looped, or sent elsewhere.
 */
export type PathOutcome = "delivered" | "dropped" | "unknown" | "loop" | "misrouted";

export interface PacketPath {
  readonly direction: "outbound" | "return";
  readonly subnet: SubnetNode;
  readonly dest: Dest;
  readonly hops: string[];
  readonly problems: { kind: PathProblem; text: string }[];
  outcome: PathOutcome;
  /** The first GWLB endpoint the packet passed. */
  inspectedBy?: EndpointNode;
  /** Where a delivered packet left the VPC (undefined when it stayed inside). */
  exit?: TargetKind;
}

const MAX_HOPS = 12;

export const azText = (az: string | undefined): string => (az ? ` [${az}]` : "");

/** The hop after a GWLB endpoint: the load balancer hands the packet to an appliance and back. */
function applianceHop(e: EndpointNode | undefined): string {
  return `${e?.gwlb?.label ?? "GWLB"} -> appliance (GENEVE udp/6081) -> back to the endpoint`;
}

export function newPath(direction: PacketPath["direction"], s: SubnetNode, dest: Dest): PacketPath {
  return { direction, subnet: s, dest, hops: [], problems: [], outcome: "dropped" };
}

export interface OutboundResult {
  path: PacketPath;
  endpoint?: EndpointNode;
  nat?: NatNode;
  exit?: { kind: string; node?: GatewayNode };
}

/** Walks from `s` towards `dest`, until the packet leaves the VPC (or the walk cannot continue). */
export function walkOutbound(s: SubnetNode, dest: Dest): OutboundResult {
  const path = newPath("outbound", s, dest);
  const { hops, problems } = path;
  hops.push(`${s.label}${azText(s.az)}`);
  if (!s.rt) hops.push(`${s.label} has no route table (dropped)`);
  let rt: RouteTableNode | undefined = s.rt;
  let az = s.az;
  let endpoint: EndpointNode | undefined;
  let nat: NatNode | undefined;
  const seen = new Set<RouteTableNode>();
  for (let i = 0; i < MAX_HOPS && rt; i++) {
    if (seen.has(rt)) {
      problems.push({ kind: "loop", text: `routing loop: ${rt.label} is visited twice` });
      path.outcome = "loop";
      return { path, endpoint, nat };
    }
    seen.add(rt);
    const r = lookup(rt, dest);
    if (!r) {
      hops.push(`${rt.label}: no route for ${dest.text} (dropped)`);
      return { path, endpoint, nat };
    }
    hops.push(`${rt.label}: ${r.dest.text} -> ${r.target.label}`);
    switch (r.target.kind) {
      case "unknown":
        path.outcome = "unknown";
        return { path, endpoint, nat };
      case "local":
        path.outcome = "delivered";
        return { path, endpoint, nat };
      case "gwlbe": {
        const e = r.target.node as EndpointNode | undefined;
        hops.push(`${r.target.label}${azText(e?.az)} (inspected)`);
        hops.push(applianceHop(e));
        if (endpoint) {
          problems.push({
            kind: "loop",
            text: `the packet enters a second GWLB endpoint (${r.target.label}) after ${endpoint.label}`,
          });
          path.outcome = "loop";
          return { path, endpoint, nat };
        }
        if (e?.az && az && e.az !== az) {
          problems.push({
            kind: "crosses-az",
            text: `${r.target.label} is in ${e.az}, the packet is in ${az}`,
          });
        }
        endpoint = e ?? ({ label: r.target.label, p: {} } as unknown as EndpointNode);
        path.inspectedBy = endpoint;
        az = e?.az ?? az;
        rt = e?.subnet?.rt;
        break;
      }
      case "nat": {
        const n = r.target.node as NatNode | undefined;
        hops.push(`${r.target.label}${azText(n?.az)}`);
        if (!endpoint) {
          problems.push({
            kind: "skips-inspection",
            text: `reaches ${r.target.label} without passing a GWLB endpoint`,
          });
        }
        if (n?.az && az && n.az !== az) {
          problems.push({
            kind: "crosses-az",
            text: `${r.target.label} is in ${n.az}, the packet is in ${az}`,
          });
        }
        nat = n;
        az = n?.az ?? az;
        rt = n?.subnet?.rt;
        break;
      }
      default: {
        hops.push(`exit: ${r.target.label}`);
        if (!endpoint && r.target.kind !== "tgw" && r.target.kind !== "vpce") {
          problems.push({
            kind: "skips-inspection",
            text: `leaves the VPC through ${r.target.label} without passing a GWLB endpoint`,
          });
        }
        path.outcome = "delivered";
        path.exit = r.target.kind;
        return {
          path,
          endpoint,
          nat,
          exit: { kind: r.target.kind, node: r.target.node as GatewayNode | undefined },
        };
      }
    }
  }
  if (rt) {
    problems.push({ kind: "loop", text: `the walk exceeds ${MAX_HOPS} route tables` });
    path.outcome = "loop";
  } else if (s.rt) {
    hops.push("the last hop's subnet has no route table (dropped)");
  }
  return { path, endpoint, nat };
}

/**
 * Walks the reply back to `s` (or, for TGW attachment subnets, to `replyDest`) from where the
 * outbound walk left the VPC: the IGW edge route table, or the NAT gateway's subnet.
 */
export function walkReturn(
  s: SubnetNode,
  out: OutboundResult,
  replyDest: Dest,
): PacketPath | undefined {
  const path = newPath("return", s, replyDest);
  const { hops, problems } = path;
  let rt: RouteTableNode | undefined;
  let az: string | undefined;
  if (out.nat) {
    hops.push(`${out.nat.label}${azText(out.nat.az)} (reply translated back to ${replyDest.text})`);
    rt = out.nat.subnet?.rt;
    az = out.nat.az;
  } else if (out.exit?.kind === "igw") {
    const g = out.exit.node;
    hops.push(`${g?.label ?? "internet gateway"} (reply to ${replyDest.text})`);
    if (!g) return undefined;
    rt = g.edgeRt;
    if (!rt) {
      hops.push(`no edge route table on ${g.label}: implicit local route`);
      hops.push(`delivered to ${s.label}${azText(s.az)}`);
      path.outcome = "delivered";
      problems.push({
        kind: "skips-inspection",
        text: `${g.label} has no edge route table, so replies reach ${s.label} without inspection`,
      });
      return path;
    }
    az = s.az;
  } else {
    return undefined;
  }
  let seenEndpoint: EndpointNode | undefined;
  for (let i = 0; i < MAX_HOPS && rt; i++) {
    const r = lookup(rt, replyDest);
    if (!r) {
      hops.push(`${rt.label}: no route for ${replyDest.text} (dropped)`);
      problems.push({
        kind: "skips-inspection",
        text: `${rt.label} has no route back to ${replyDest.text}`,
      });
      return path;
    }
    hops.push(`${rt.label}: ${r.dest.text} -> ${r.target.label}`);
    if (r.target.kind === "unknown") return undefined; // undecidable during preview
    if (r.target.kind === "gwlbe") {
      const e = r.target.node as EndpointNode | undefined;
      hops.push(`${r.target.label}${azText(e?.az)} (inspected)`);
      hops.push(applianceHop(e));
      if (seenEndpoint) {
        problems.push({
          kind: "loop",
          text: `the reply enters a second GWLB endpoint (${r.target.label})`,
        });
        path.outcome = "loop";
        return path;
      }
      seenEndpoint = e;
      path.inspectedBy = e ?? ({ label: r.target.label, p: {} } as unknown as EndpointNode);
      if (out.endpoint && e && out.endpoint.urn !== e.urn) {
        problems.push({
          kind: "different-endpoint",
          text: `the reply returns through ${e.label}${azText(e.az)} but left through ${out.endpoint.label}${azText(out.endpoint.az)}`,
        });
      } else if (e?.az && az && e.az !== az) {
        problems.push({
          kind: "crosses-az",
          text: `${e.label} is in ${e.az}, the reply is in ${az}`,
        });
      }
      rt = e?.subnet?.rt;
      continue;
    }
    if (r.target.kind === "local" || r.target.kind === "tgw") {
      hops.push(
        r.target.kind === "tgw"
          ? `exit: ${r.target.label} (to the spoke)`
          : `delivered to ${s.label}${azText(s.az)}`,
      );
      path.outcome = "delivered";
      if (r.target.kind === "tgw") path.exit = "tgw";
      if (!seenEndpoint && out.endpoint) {
        problems.push({
          kind: "skips-inspection",
          text: `the reply reaches ${r.target.kind === "tgw" ? r.target.label : s.label} without passing a GWLB endpoint`,
        });
      }
      return path;
    }
    hops.push(`exit: ${r.target.label}`);
    problems.push({
      kind: "skips-inspection",
      text: `the reply is sent to ${r.target.label} instead of back to the source`,
    });
    path.outcome = "misrouted";
    return path;
  }
  if (rt) {
    problems.push({ kind: "loop", text: `the reply exceeds ${MAX_HOPS} route tables` });
    path.outcome = "loop";
  } else {
    hops.push("the last hop's subnet has no route table (dropped)");
  }
  return path;
}

/** Destinations walked from a subnet: the defaults plus any other route that leaves the VPC. */
export function walkDestinations(s: SubnetNode): Dest[] {
  const out: Dest[] = [DEFAULT_V4];
  if (s.hasIpv6 || s.vpc.cidrs.some((c) => c.family === 6)) out.push(DEFAULT_V6);
  for (const r of s.rt?.routes ?? []) {
    if (!r.dest.cidr || r.dest.cidr.len === 0) continue;
    if (["igw", "nat", "egw", "vgw", "eni", "peering"].includes(r.target.kind)) out.push(r.dest);
  }
  return out;
}

/** Reply destinations for a subnet: spokes for TGW attachment subnets, else its own block. */
export function replyDestinations(
  t: Topology,
  s: SubnetNode,
  family: 4 | 6,
  extraSpokes: readonly string[] = [],
): Dest[] {
  if (s.role === "attachment") {
    const spokes = spokeCidrs(t, s.vpc, extraSpokes).filter((c) => c.family === family);
    return spokes.map((c) => ({ text: c.text, cidr: c, family }));
  }
  const d = subnetDest(s, family);
  return d ? [d] : [];
}

/** CIDRs of the other VPCs attached to the same Transit Gateway(s) as `vpc`, plus `extra`. */
export function spokeCidrs(t: Topology, vpc: VpcNode, extra: readonly string[] = []): Cidr[] {
  const out = new Map<string, Cidr>();
  for (const a of vpc.attachments) {
    for (const other of t.tgwVpcs.get(a.tgwKey) ?? []) {
      if (other.key === vpc.key) continue;
      for (const c of other.cidrs) out.set(c.text, c);
    }
  }
  for (const e of extra) {
    const c = parseCidr(e);
    if (c) out.set(c.text, c);
  }
  return [...out.values()];
}

/** Renders a path as numbered hop lines. */
export function renderPath(p: PacketPath, before?: PacketPath): string {
  const hops = before ? [...before.hops.map((h) => `${h}`), "--- reply ---", ...p.hops] : p.hops;
  let n = 0;
  return hops
    .map((h) => (h === "--- reply ---" ? `    -- reply --` : `    ${++n}. ${h}`))
    .join("\n");
}
