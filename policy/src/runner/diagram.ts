/**
 * The topology as a Mermaid flowchart, for reviewers (`npm run plan -- --diagram`,
 * `tollgate-policy check FILE --diagram -`, the pull-request comment).
 *
 * Boxes: one subgraph per VPC, inside it one per AZ with that AZ's subnets, GWLB endpoints and NAT
 * gateways; gateways, Transit Gateway attachments, load balancers and fleets sit in their VPC.
 * Arrows: every followed path (solid outbound, dotted return), labelled with the route that sent
 * the packet on; the hop where a path goes wrong is drawn red with the problem's kind, and a path
 * that is not delivered ends in a red "not delivered" box. Edges shared by several paths are
 * drawn once. Output is deterministic (topology order), so golden files can pin it.
 */
import { followThePacket, type SubnetWalk } from "../model/follow";
import { topologyOf } from "../model/topology";
import type {
  FleetNode,
  LoadBalancerNode,
  Node,
  RouteEntry,
  SubnetNode,
  Topology,
  VpcNode,
} from "../model/nodes";
import type { PacketPath } from "../model/walk";
import type { PolicyResource } from "@pulumi/policy/policy";
import { linkStack, type StateResource } from "./runner";

/** Where a path ends when it is not delivered (one shared box per outcome). */
const ENDS: Record<string, string> = {
  dropped: "✗ dropped (no route)",
  loop: "✗ routing loop",
  misrouted: "✗ misrouted",
  unknown: "? unknown during preview",
};

/** Exits that are not drawn as resources (outside the stack). */
const EXITS: Partial<Record<string, string>> = {
  igw: "internet gateway",
  egw: "egress-only internet gateway",
  tgw: "Transit Gateway",
  vgw: "virtual private gateway",
  vpce: "VPC endpoint",
  peering: "VPC peering",
  eni: "network interface",
};

/** One arrow of one path, before problems are assigned. */
interface Leg {
  readonly from: string;
  readonly to: string;
  readonly label: string;
  /** The Route (or route table) whose entry sent the packet along this arrow. */
  readonly route?: Node;
  /** Index of the last hop this arrow covers. */
  readonly last: number;
  readonly geneve?: boolean;
  /** The path ends here without being delivered. */
  readonly end?: boolean;
  readonly kinds: Set<string>;
}

interface Edge {
  readonly from: string;
  readonly to: string;
  readonly label: string;
  readonly arrow: "-->" | "-.->" | "<-->" | "---";
  failing: boolean;
}

/** Mermaid text for a topology and the paths followed over it. */
export function topologyDiagram(t: Topology, walks: readonly SubnetWalk[]): string {
  const d = new Diagram(t);
  for (const vpc of t.vpcs) d.vpc(vpc);
  for (const w of walks) for (const p of [w.outbound.path, ...w.returns]) d.path(p);
  return d.render();
}

class Diagram {
  private readonly ids = new Map<Node, string>();
  private readonly lines: string[] = [];
  private readonly edges = new Map<string, Edge>();
  private readonly ends = new Map<string, string>();
  private readonly bad = new Set<string>();
  private readonly routeOf = new Map<Node, RouteEntry>();
  private readonly lbs: ReadonlySet<Node>;
  private count = 0;

  constructor(private readonly t: Topology) {
    for (const rt of t.routeTables) for (const r of rt.routes) this.routeOf.set(r.source, r);
    this.lbs = new Set<Node>(t.loadBalancers);
  }

  /** A VPC's subgraph: AZ subgraphs, then what spans the VPC. */
  vpc(v: VpcNode): void {
    this.lines.push(`  subgraph ${this.newId("vpc")}["${esc(withCidrs(v))}"]`);
    this.lines.push("    direction TB");
    for (const [az, subnets] of byAz(v.subnets)) {
      this.lines.push(`    subgraph ${this.newId("az")}["${esc(az)}"]`);
      for (const s of subnets) this.subnet(s);
      this.lines.push("    end");
    }
    for (const g of v.igws) this.node(g, short(g), "gw");
    for (const a of v.attachments) this.node(a, short(a), "gw");
    for (const lb of this.t.loadBalancers.filter((x) => x.subnets[0]?.vpc === v)) this.lb(lb);
    this.lines.push("  end");
  }

  private subnet(s: SubnetNode): void {
    const cidr = [s.cidr?.text, s.ipv6?.text].filter(Boolean).join(" ");
    this.node(s, `${short(s)}<br/>${s.role}${cidr ? ` ${cidr}` : ""}`, s.role);
    for (const e of s.endpoints) this.node(e, short(e), "gwlbe");
    for (const n of s.natGateways) this.node(n, short(n), "gw");
  }

  /** A load balancer and the fleets registered behind it (with the AZs they place appliances in). */
  private lb(lb: LoadBalancerNode): void {
    const zones =
      lb.crossZone === undefined ? "" : `<br/>cross-zone ${lb.crossZone ? "on" : "off"}`;
    const id = this.node(lb, `${short(lb)}${zones}`, "lb");
    if (lb.listeners.length === 0) this.bad.add(id);
    const fleets = new Set<FleetNode>();
    for (const l of lb.listeners)
      for (const tg of l.targetGroups) for (const f of tg.fleets) fleets.add(f);
    for (const f of fleets) {
      const azs = f.azs ? `<br/>${f.azs.join(", ")}` : "";
      const fid = this.node(f, `${short(f)}${azs}${f.empty ? "<br/>EMPTY" : ""}`, "fleet");
      this.addEdge({ from: id, to: fid, label: "targets", arrow: "---", failing: false });
      if (f.empty) this.bad.add(fid);
    }
  }

  private node(n: Node, label: string, cls: string): string {
    const known = this.ids.get(n);
    if (known) return known;
    const id = this.newId("n");
    this.ids.set(n, id);
    this.lines.push(`      ${id}["${esc(label)}"]:::${cls}`);
    return id;
  }

  private newId(prefix: string): string {
    return `${prefix}${this.count++}`;
  }

  /**
   * The path's arrows from place to place, labelled with the route that moved the packet; the
   * load balancer hop is the round trip through an appliance (the packet comes back to the
   * endpoint). A problem marks the arrow of the route it blames, else the arrow reaching the hop
   * where it was found; boxes it blames (an endpoint, a subnet) are marked too.
   */
  path(p: PacketPath): void {
    const legs = this.legs(p);
    for (const x of p.problems) {
      const leg =
        legs.find((l) => l.route && x.blame?.nodes.includes(l.route)) ??
        legs.find((l) => !l.geneve && x.hop <= l.last) ??
        legs.at(-1);
      leg?.kinds.add(`✗ ${x.kind}`);
      for (const n of x.blame?.nodes ?? []) {
        const id = this.ids.get(n);
        if (id) this.bad.add(id);
      }
      if (!leg && legs.length === 0) this.markFirst(p);
    }
    const arrow = p.direction === "return" ? "-.->" : "-->";
    for (const l of legs) {
      const label = [l.geneve ? "GENEVE" : l.label, ...l.kinds].filter(Boolean).join(" ");
      const failing = l.kinds.size > 0 || l.end === true;
      this.addEdge({ from: l.from, to: l.to, label, arrow: l.geneve ? "<-->" : arrow, failing });
    }
  }

  /** The path cut into arrows between drawn boxes (plus its end when it leaves them). */
  private legs(p: PacketPath): Leg[] {
    const legs: Leg[] = [];
    let from: string | undefined;
    let route: { node: Node; text: string } | undefined;
    const push = (to: string, last: number, extra: Partial<Leg> = {}): void => {
      if (!from) return;
      legs.push({
        from,
        to,
        label: route?.text ?? "",
        route: route?.node,
        last,
        kinds: new Set(),
        ...extra,
      });
    };
    p.hopNodes.forEach((n, i) => {
      const id = n ? this.ids.get(n) : undefined;
      const r = n ? this.routeOf.get(n) : undefined;
      if (n && r) route = { node: n, text: r.dest.text };
      if (!id || id === from) return;
      if (n && this.lbs.has(n)) return push(id, i, { geneve: true, route: undefined });
      push(id, i);
      from = id;
      route = undefined;
    });
    const end = ENDS[p.outcome];
    const last = p.hops.length;
    if (end) push(this.end(p.outcome, end, true), last, { end: true });
    else if (route && p.exit)
      push(this.end(`exit_${p.exit}`, `exit: ${EXITS[p.exit] ?? p.exit}`, false), last);
    return legs;
  }

  /** A problem on a path with no arrow at all: mark the subnet it starts from. */
  private markFirst(p: PacketPath): void {
    const id = this.ids.get(p.subnet);
    if (id) this.bad.add(id);
  }

  private addEdge(e: Edge): void {
    const key = `${e.from}${e.arrow}${e.to}|${e.label}`;
    const old = this.edges.get(key);
    if (old) old.failing ||= e.failing;
    else this.edges.set(key, { ...e });
  }

  /** A shared box where paths end outside the drawn resources (`bad`: not delivered). */
  private end(key: string, text: string, bad: boolean): string {
    let id = this.ends.get(key);
    if (!id) {
      id = `end_${key}`;
      this.ends.set(key, id);
      if (bad) this.bad.add(id);
      this.lines.push(`  ${id}["${esc(text)}"]`);
    }
    return id;
  }

  render(): string {
    const out = ["flowchart LR", ...this.lines];
    const failing: number[] = [];
    [...this.edges.values()].forEach((e, i) => {
      out.push(`  ${e.from} ${e.arrow}${e.label ? `|"${esc(e.label)}"|` : ""} ${e.to}`);
      if (e.failing) failing.push(i);
    });
    out.push(...CLASSES);
    if (this.bad.size > 0) out.push(`  class ${[...this.bad].join(",")} bad`);
    if (failing.length > 0) {
      out.push(`  linkStyle ${failing.join(",")} stroke:#d00,stroke-width:3px`);
    }
    return out.join("\n") + "\n";
  }
}

const CLASSES = [
  "  classDef workload fill:#eef,stroke:#668",
  "  classDef attachment fill:#eef,stroke:#668",
  "  classDef public fill:#efe,stroke:#686",
  "  classDef gwlbe fill:#ffd,stroke:#aa4",
  "  classDef appliance fill:#fed,stroke:#a64",
  "  classDef lb fill:#fed,stroke:#a64",
  "  classDef fleet fill:#fed,stroke:#a64",
  "  classDef gw fill:#eee,stroke:#666",
  "  classDef bad fill:#fdd,stroke:#d00,stroke-width:2px",
];

function withCidrs(v: VpcNode): string {
  const cidrs = v.cidrs.map((c) => c.text).join(" ");
  return cidrs ? `${short(v)}<br/>${cidrs}` : short(v);
}

/** A box's title: the resource's name and cloud id (the full label for resources outside the stack). */
function short(n: Node): string {
  if (!n.res) return n.label;
  return n.id ? `${n.res.name}<br/>${n.id}` : n.res.name;
}

/** Subnets grouped by AZ, AZs sorted, unknown AZ last. */
function byAz(subnets: readonly SubnetNode[]): [string, SubnetNode[]][] {
  const m = new Map<string, SubnetNode[]>();
  for (const s of subnets) {
    const az = s.az ?? "AZ unknown";
    m.set(az, [...(m.get(az) ?? []), s]);
  }
  return [...m.entries()].sort(([a], [b]) =>
    a === "AZ unknown" ? 1 : b === "AZ unknown" ? -1 : a.localeCompare(b),
  );
}

/** Mermaid label text: quotes and angle brackets as entities, `<br/>` kept as the line break. */
function esc(s: string): string {
  return s
    .split("<br/>")
    .map((part) => part.replace(/"/g, "#quot;").replace(/</g, "#lt;").replace(/>/g, "#gt;"))
    .join("<br/>");
}

/** The diagram of a stack's resources (export, preview or plan), every path followed. */
export function stackDiagram(resources: readonly StateResource[]): string {
  return modelDiagram(linkStack(resources));
}

/** The diagram of resources already linked (a policy run's `model`: its topology is reused). */
export function modelDiagram(model: readonly PolicyResource[]): string {
  const t = topologyOf(model);
  return topologyDiagram(t, followThePacket(t, { spokes: true }));
}
