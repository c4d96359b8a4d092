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
import { Blame, blameRoute } from "./blame";
import type { Node, RouteEntry } from "./nodes";

export type PathProblem = "skips-inspection" | "crosses-az" | "different-endpoint" | "loop";

/** A problem on a path: what is wrong, at which hop, and which resource(s) to change. */
export interface Problem {
  readonly kind: PathProblem;
  readonly text: string;
  /** Index (in `hops`) of the failing hop. */
  readonly hop: number;
  /** The resources whose change fixes it (the first is where the policy reports) and the fix. */
  readonly blame?: Blame;
}

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
  /** The resource each hop names (subnet, route table or route, endpoint, gateway), by index. */
  readonly hopNodes: (Node | undefined)[];
  readonly problems: Problem[];
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
  return { direction, subnet: s, dest, hops: [], hopNodes: [], problems: [], outcome: "dropped" };
}

/** Appends a hop (and the resource it names) to a path. */
export function addHop(path: PacketPath, text: string, node?: Node): void {
  path.hops.push(text);
  path.hopNodes.push(node);
}

/** Records a problem at the path's last hop. */
export function addProblem(path: PacketPath, kind: PathProblem, text: string, blame?: Blame): void {
  path.problems.push({ kind, text, hop: Math.max(0, path.hops.length - 1), blame });
}

/** Appends another walk's hops and problems (problem hop indexes shifted). */
export function appendPath(
  path: PacketPath,
  part: Pick<PacketPath, "hops" | "hopNodes" | "problems">,
): void {
  const offset = path.hops.length;
  path.hops.push(...part.hops);
  path.hopNodes.push(...part.hopNodes);
  for (const x of part.problems) path.problems.push({ ...x, hop: x.hop + offset });
}

/** The hop of a route entry: the table and the route it uses. */
function routeHop(path: PacketPath, rt: RouteTableNode, r: RouteEntry): void {
  addHop(path, `${rt.label}: ${r.dest.text} -> ${r.target.label}`, r.source.urn ? r.source : rt);
}

export interface OutboundResult {
  path: PacketPath;
  endpoint?: EndpointNode;
  nat?: NatNode;
  exit?: { kind: string; node?: GatewayNode };
  /** The route that sent the packet out of the VPC, with its table's subnet. */
  exitRoute?: { rt: RouteTableNode; entry: RouteEntry; owner?: SubnetNode };
}

const SAME_AZ_ENDPOINT = "the GWLB endpoint of the subnet's AZ";

/** Walks from `s` towards `dest`, until the packet leaves the VPC (or the walk cannot continue). */
export function walkOutbound(s: SubnetNode, dest: Dest): OutboundResult {
  const path = newPath("outbound", s, dest);
  addHop(path, `${s.label}${azText(s.az)}`, s);
  if (!s.rt) addHop(path, `${s.label} has no route table (dropped)`, s);
  let rt: RouteTableNode | undefined = s.rt;
  /** The subnet whose own table `rt` is (its association decides which table the packet meets). */
  let owner: SubnetNode | undefined = s;
  let az = s.az;
  let endpoint: EndpointNode | undefined;
  let nat: NatNode | undefined;
  let last: { rt: RouteTableNode; r: RouteEntry; owner?: SubnetNode } | undefined;
  const seen = new Set<RouteTableNode>();
  const result = (): OutboundResult => ({ path, endpoint, nat });
  const blameLast = (want: string): Blame | undefined =>
    last ? blameRoute(last.owner, last.rt, last.r, want) : undefined;
  for (let i = 0; i < MAX_HOPS && rt; i++) {
    if (seen.has(rt)) {
      addProblem(
        path,
        "loop",
        `routing loop: ${rt.label} is visited twice`,
        blameLast("a gateway"),
      );
      path.outcome = "loop";
      return result();
    }
    seen.add(rt);
    const r = lookup(rt, dest);
    if (!r) {
      addHop(path, `${rt.label}: no route for ${dest.text} (dropped)`, rt);
      return result();
    }
    routeHop(path, rt, r);
    const blame = (want: string): Blame => blameRoute(owner, rt!, r, want);
    last = { rt, r, owner };
    switch (r.target.kind) {
      case "unknown":
        path.outcome = "unknown";
        return result();
      case "local":
        path.outcome = "delivered";
        return result();
      case "gwlbe": {
        const e = r.target.node as EndpointNode | undefined;
        addHop(path, `${r.target.label}${azText(e?.az)} (inspected)`, e);
        addHop(path, applianceHop(e), e?.gwlb);
        if (endpoint) {
          addProblem(
            path,
            "loop",
            `the packet enters a second GWLB endpoint (${r.target.label}) after ${endpoint.label}`,
            blame("a gateway (the packet was already inspected)"),
          );
          path.outcome = "loop";
          return result();
        }
        if (e?.az && az && e.az !== az) {
          addProblem(
            path,
            "crosses-az",
            `${r.target.label} is in ${e.az}, the packet is in ${az}`,
            blame(`the GWLB endpoint in ${az}`),
          );
        }
        endpoint = e ?? ({ label: r.target.label, p: {} } as unknown as EndpointNode);
        path.inspectedBy = endpoint;
        az = e?.az ?? az;
        owner = e?.subnet;
        rt = e?.subnet?.rt;
        break;
      }
      case "nat": {
        const n = r.target.node as NatNode | undefined;
        addHop(path, `${r.target.label}${azText(n?.az)}`, n);
        if (!endpoint) {
          addProblem(
            path,
            "skips-inspection",
            `reaches ${r.target.label} without passing a GWLB endpoint`,
            blame(SAME_AZ_ENDPOINT),
          );
        }
        if (n?.az && az && n.az !== az) {
          addProblem(
            path,
            "crosses-az",
            `${r.target.label} is in ${n.az}, the packet is in ${az}`,
            blame(`the NAT gateway in ${az}`),
          );
        }
        nat = n;
        az = n?.az ?? az;
        owner = n?.subnet;
        rt = n?.subnet?.rt;
        break;
      }
      default: {
        addHop(path, `exit: ${r.target.label}`, r.target.node);
        if (!endpoint && r.target.kind !== "tgw" && r.target.kind !== "vpce") {
          addProblem(
            path,
            "skips-inspection",
            `leaves the VPC through ${r.target.label} without passing a GWLB endpoint`,
            blame(SAME_AZ_ENDPOINT),
          );
        }
        path.outcome = "delivered";
        path.exit = r.target.kind;
        return {
          path,
          endpoint,
          nat,
          exit: { kind: r.target.kind, node: r.target.node as GatewayNode | undefined },
          exitRoute: { rt, entry: r, owner },
        };
      }
    }
  }
  if (rt) {
    addProblem(path, "loop", `the walk exceeds ${MAX_HOPS} route tables`, blameLast("a gateway"));
    path.outcome = "loop";
  } else if (s.rt) {
    addHop(path, "the last hop's subnet has no route table (dropped)");
  }
  return result();
}

/**
 * Walks the reply back to `s` (or, for TGW attachment subnets, to `replyDest`) from where the
 * outbound walk left the VPC: the IGW edge route table, or the NAT gateway's subnet. Replies
 * through an egress-only internet gateway cannot be steered (it takes no edge route table).
 */
export function walkReturn(
  s: SubnetNode,
  out: OutboundResult,
  replyDest: Dest,
): PacketPath | undefined {
  const path = newPath("return", s, replyDest);
  let rt: RouteTableNode | undefined;
  let owner: SubnetNode | undefined;
  let az: string | undefined;
  const want = out.endpoint
    ? `${out.endpoint.label}${azText(out.endpoint.az)} (the endpoint the packet left through)`
    : SAME_AZ_ENDPOINT;
  if (out.nat) {
    addHop(
      path,
      `${out.nat.label}${azText(out.nat.az)} (reply translated back to ${replyDest.text})`,
      out.nat,
    );
    rt = out.nat.subnet?.rt;
    owner = out.nat.subnet;
    az = out.nat.az;
  } else if (out.exit?.kind === "egw" && out.endpoint && out.exitRoute) {
    const g = out.exit.node;
    addHop(path, `${g?.label ?? "egress-only internet gateway"} (reply to ${replyDest.text})`, g);
    addHop(path, `delivered to ${s.label}${azText(s.az)} (local route)`, s);
    path.outcome = "delivered";
    const { rt: exitRt, entry, owner: exitOwner } = out.exitRoute;
    addProblem(
      path,
      "skips-inspection",
      `replies through ${g?.label ?? "an egress-only internet gateway"} reach ${s.label} without inspection: an egress-only internet gateway takes no edge route table`,
      blameRoute(
        exitOwner,
        exitRt,
        entry,
        "an internet gateway whose edge route table sends the subnet's IPv6 block to the GWLB endpoint",
      ),
    );
    return path;
  } else if (out.exit?.kind === "igw") {
    const g = out.exit.node;
    addHop(path, `${g?.label ?? "internet gateway"} (reply to ${replyDest.text})`, g);
    if (!g) return undefined;
    rt = g.edgeRt;
    if (!rt) {
      addHop(path, `no edge route table on ${g.label}: implicit local route`, g);
      addHop(path, `delivered to ${s.label}${azText(s.az)}`, s);
      path.outcome = "delivered";
      addProblem(
        path,
        "skips-inspection",
        `${g.label} has no edge route table, so replies reach ${s.label} without inspection`,
        {
          nodes: g.urn ? [g] : [],
          fix: `associate an edge route table with ${g.label} (RouteTableAssociation with gatewayId) that sends each inspected subnet's block to its AZ's GWLB endpoint.`,
        },
      );
      return path;
    }
    az = s.az;
  } else {
    return undefined;
  }
  let seenEndpoint: EndpointNode | undefined;
  for (let i = 0; i < MAX_HOPS && rt; i++) {
    const r = lookup(rt, replyDest);
    const table: RouteTableNode = rt;
    const blame = (entry: RouteEntry | undefined, w = want): Blame =>
      blameRoute(owner, table, entry, `${replyDest.text} -> ${w}`);
    if (!r) {
      addHop(path, `${rt.label}: no route for ${replyDest.text} (dropped)`, rt);
      addProblem(
        path,
        "skips-inspection",
        `${rt.label} has no route back to ${replyDest.text}`,
        blame(undefined),
      );
      return path;
    }
    routeHop(path, rt, r);
    if (r.target.kind === "unknown") return undefined; // undecidable during preview
    if (r.target.kind === "gwlbe") {
      const e = r.target.node as EndpointNode | undefined;
      addHop(path, `${r.target.label}${azText(e?.az)} (inspected)`, e);
      addHop(path, applianceHop(e), e?.gwlb);
      if (seenEndpoint) {
        addProblem(
          path,
          "loop",
          `the reply enters a second GWLB endpoint (${r.target.label})`,
          blame(r, "the source (local) or the transit gateway"),
        );
        path.outcome = "loop";
        return path;
      }
      seenEndpoint = e;
      path.inspectedBy = e ?? ({ label: r.target.label, p: {} } as unknown as EndpointNode);
      if (out.endpoint && e && out.endpoint.urn !== e.urn) {
        addProblem(
          path,
          "different-endpoint",
          `the reply returns through ${e.label}${azText(e.az)} but left through ${out.endpoint.label}${azText(out.endpoint.az)}`,
          blame(r),
        );
      } else if (e?.az && az && e.az !== az) {
        addProblem(
          path,
          "crosses-az",
          `${e.label} is in ${e.az}, the reply is in ${az}`,
          blame(r, `the GWLB endpoint in ${az}`),
        );
      }
      owner = e?.subnet;
      rt = e?.subnet?.rt;
      continue;
    }
    if (r.target.kind === "local" || r.target.kind === "tgw") {
      addHop(
        path,
        r.target.kind === "tgw"
          ? `exit: ${r.target.label} (to the spoke)`
          : `delivered to ${s.label}${azText(s.az)}`,
        r.target.kind === "tgw" ? r.target.node : s,
      );
      path.outcome = "delivered";
      if (r.target.kind === "tgw") path.exit = "tgw";
      if (!seenEndpoint && out.endpoint) {
        addProblem(
          path,
          "skips-inspection",
          `the reply reaches ${r.target.kind === "tgw" ? r.target.label : s.label} without passing a GWLB endpoint`,
          blame(r),
        );
      }
      return path;
    }
    addHop(path, `exit: ${r.target.label}`, r.target.node);
    addProblem(
      path,
      "skips-inspection",
      `the reply is sent to ${r.target.label} instead of back to the source`,
      blame(r, seenEndpoint ? "the source (local) or the transit gateway" : want),
    );
    path.outcome = "misrouted";
    return path;
  }
  if (rt) {
    addProblem(path, "loop", `the reply exceeds ${MAX_HOPS} route tables`);
    path.outcome = "loop";
  } else {
    addHop(path, "the last hop's subnet has no route table (dropped)");
  }
  return path;
}

/** Destinations walked from a subnet: the defaults plus any other route that leaves the VPC. */
export function walkDestinations(s: SubnetNode): Dest[] {
  const out: Dest[] = [DEFAULT_V4];
  if (s.hasIpv6 || s.vpc.cidrs.some((c) => c.family === 6)) out.push(DEFAULT_V6);
  for (const r of s.rt?.routes ?? []) {
    if (!["igw", "nat", "egw", "vgw", "eni", "peering"].includes(r.target.kind)) continue;
    if (r.dest.cidr && r.dest.cidr.len > 0) out.push(r.dest);
    for (const c of r.dest.entries ?? []) {
      out.push({ text: `${c.text} (${r.dest.text})`, cidr: c, family: c.family });
    }
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
