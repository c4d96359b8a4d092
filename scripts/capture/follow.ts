/**
 * "Follow the packet": walks the route tables of a captured deployment (no config, only what was
 * declared) from every inspected subnet, outbound and inbound, and lists the hops. Pure.
 */
import * as ipaddr from "ipaddr.js";
import type { DeploymentV3, ResourceV3 } from "./index";

export type HopKind =
  | "route-table"
  | "gwlb-endpoint"
  | "appliance"
  | "nat-gateway"
  | "internet-gateway"
  | "internet"
  | "transit-gateway"
  | "tgw-route-table"
  | "deliver"
  | "drop";

export interface Hop {
  readonly kind: HopKind;
  readonly text: string;
  readonly id?: string;
  readonly az?: string;
}

export interface PacketPath {
  readonly topology: "north-south" | "egress";
  readonly subnet: {
    readonly id: string;
    readonly name: string;
    readonly az: string;
    readonly cidr: string;
  };
  readonly direction: "outbound" | "inbound";
  readonly family: "ipv4" | "ipv6";
  readonly destination: string;
  readonly hops: readonly Hop[];
  /** Passed a GWLB endpoint. */
  readonly inspected: boolean;
  /** Every endpoint passed was in the subnet's AZ. */
  readonly sameAz: boolean;
  /** Reached its destination (internet or the subnet). */
  readonly delivered: boolean;
}

interface Route {
  readonly dest: string;
  readonly target: { kind: string; id: string };
  readonly name: string;
}

function nameOf(r: ResourceV3): string {
  return r.urn.split("::").pop() ?? r.urn;
}

function inCidr(addr: string, cidr: string): boolean {
  try {
    const a = ipaddr.parse(addr);
    const [net, len] = ipaddr.parseCIDR(cidr);
    return a.kind() === net.kind() && a.match(net, len);
  } catch {
    return false;
  }
}

function prefixLen(cidr: string): number {
  return Number(cidr.split("/")[1] ?? 0);
}

function sampleAddress(cidr: string): string {
  const [net, len] = ipaddr.parseCIDR(cidr);
  if (len === 0) return net.kind() === "ipv4" ? "198.51.100.10" : "2001:db8::10";
  const bytes = net.toByteArray();
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) + 10;
  return ipaddr.fromByteArray(bytes).toString();
}

type Outs = Record<string, unknown>;

/** Indexes a deployment for route walking. */
class Network {
  readonly subnets = new Map<
    string,
    { name: string; az: string; cidr: string; ipv6?: string; vpcId: string }
  >();
  readonly rtNames = new Map<string, string>();
  readonly rtVpc = new Map<string, string>();
  readonly routes = new Map<string, Route[]>();
  readonly subnetRt = new Map<string, string>();
  readonly gatewayRt = new Map<string, string>();
  readonly endpoints = new Map<string, { name: string; subnetId: string }>();
  readonly nats = new Map<string, { name: string; subnetId: string }>();
  readonly igws = new Map<string, string>();
  readonly vpcCidrs = new Map<string, string[]>();
  readonly attachments = new Map<
    string,
    { name: string; vpcId: string; subnetIds: string[]; applianceMode: boolean }
  >();
  readonly tgwAssoc = new Map<string, string>();
  readonly tgwRoutes = new Map<string, Route[]>();
  readonly tgwRtNames = new Map<string, string>();
  readonly gwlbName: string;

  constructor(readonly resources: readonly ResourceV3[]) {
    let gwlb = "GWLB";
    for (const r of resources) {
      const i = r.inputs as Outs;
      const o = r.outputs as Outs;
      const id = r.id ?? "";
      const s = (k: string): string => String(i[k] ?? o[k] ?? "");
      switch (r.type) {
        case "aws:ec2/vpc:Vpc":
          this.vpcCidrs.set(id, [
            s("cidrBlock"),
            ...(o.ipv6CidrBlock ? [String(o.ipv6CidrBlock)] : []),
          ]);
          break;
        case "aws:ec2/subnet:Subnet":
          this.subnets.set(id, {
            name: nameOf(r),
            az: s("availabilityZone"),
            cidr: s("cidrBlock"),
            ipv6: (o.ipv6CidrBlock as string) || undefined,
            vpcId: s("vpcId"),
          });
          break;
        case "aws:ec2/routeTable:RouteTable":
          this.rtNames.set(id, nameOf(r));
          this.rtVpc.set(id, s("vpcId"));
          break;
        case "aws:ec2/route:Route": {
          const target = i.vpcEndpointId
            ? { kind: "vpce", id: String(i.vpcEndpointId) }
            : i.natGatewayId
              ? { kind: "nat", id: String(i.natGatewayId) }
              : i.transitGatewayId
                ? { kind: "tgw", id: String(i.transitGatewayId) }
                : { kind: "gateway", id: String(i.gatewayId ?? "") };
          const rt = s("routeTableId");
          const list = this.routes.get(rt) ?? [];
          list.push({
            dest: String(i.destinationCidrBlock ?? i.destinationIpv6CidrBlock),
            target,
            name: nameOf(r),
          });
          this.routes.set(rt, list);
          break;
        }
        case "aws:ec2/routeTableAssociation:RouteTableAssociation":
          if (i.subnetId) this.subnetRt.set(String(i.subnetId), s("routeTableId"));
          if (i.gatewayId) this.gatewayRt.set(String(i.gatewayId), s("routeTableId"));
          break;
        case "aws:ec2/vpcEndpoint:VpcEndpoint":
          if (i.vpcEndpointType === "GatewayLoadBalancer") {
            this.endpoints.set(id, {
              name: nameOf(r),
              subnetId: String((i.subnetIds as string[])[0]),
            });
          }
          break;
        case "aws:ec2/natGateway:NatGateway":
          this.nats.set(id, { name: nameOf(r), subnetId: s("subnetId") });
          break;
        case "aws:ec2/internetGateway:InternetGateway":
          this.igws.set(id, nameOf(r));
          break;
        case "aws:lb/loadBalancer:LoadBalancer":
          gwlb = nameOf(r);
          break;
        case "aws:ec2transitgateway/vpcAttachment:VpcAttachment":
          this.attachments.set(id, {
            name: nameOf(r),
            vpcId: s("vpcId"),
            subnetIds: (i.subnetIds as string[]) ?? [],
            applianceMode: i.applianceModeSupport === "enable",
          });
          break;
        case "aws:ec2transitgateway/routeTable:RouteTable":
          this.tgwRtNames.set(id, nameOf(r));
          break;
        case "aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation":
          this.tgwAssoc.set(s("transitGatewayAttachmentId"), s("transitGatewayRouteTableId"));
          break;
        case "aws:ec2transitgateway/route:Route": {
          const rt = s("transitGatewayRouteTableId");
          const list = this.tgwRoutes.get(rt) ?? [];
          list.push({
            dest: s("destinationCidrBlock"),
            target: { kind: "attachment", id: s("transitGatewayAttachmentId") },
            name: nameOf(r),
          });
          this.tgwRoutes.set(rt, list);
          break;
        }
        default:
          if (r.type === "tollgate:inspectedVpc:InspectedVpc" && o.vpcId && o.vpcCidr) {
            const known = this.vpcCidrs.get(String(o.vpcId)) ?? [];
            if (known.length === 0) this.vpcCidrs.set(String(o.vpcId), [String(o.vpcCidr)]);
          }
      }
    }
    // Propagations become routes for the attachment's VPC CIDRs (resolved after all VPCs are known).
    for (const r of resources) {
      if (r.type !== "aws:ec2transitgateway/routeTablePropagation:RouteTablePropagation") continue;
      const i = r.inputs as Outs;
      const att = this.attachments.get(String(i.transitGatewayAttachmentId));
      if (!att) continue;
      const rt = String(i.transitGatewayRouteTableId);
      const list = this.tgwRoutes.get(rt) ?? [];
      for (const c of this.vpcCidrs.get(att.vpcId) ?? [])
        list.push({
          dest: c,
          target: { kind: "attachment", id: String(i.transitGatewayAttachmentId) },
          name: `${nameOf(r)} (propagated)`,
        });
      this.tgwRoutes.set(rt, list);
    }
    this.gwlbName = gwlb;
  }

  lookup(routes: readonly Route[] | undefined, addr: string): Route | undefined {
    let best: Route | undefined;
    for (const r of routes ?? []) {
      if (inCidr(addr, r.dest) && (!best || prefixLen(r.dest) > prefixLen(best.dest))) best = r;
    }
    return best;
  }

  vpcOfRt(rtId: string, fallbackVpc: string): string {
    for (const [sid, rt] of this.subnetRt)
      if (rt === rtId) return this.subnets.get(sid)?.vpcId ?? fallbackVpc;
    return fallbackVpc;
  }
}

const MAX_HOPS = 24;

/** Walks from a route table towards `addr`; `az` is where the packet is (for same-AZ checks). */
function walk(
  net: Network,
  startRt: string,
  vpcId: string,
  az: string,
  addr: string,
  targetSubnetId?: string,
): { hops: Hop[]; endpoints: string[]; delivered: boolean } {
  const hops: Hop[] = [];
  const endpoints: string[] = [];
  let rt: string | undefined = startRt;
  let vpc = vpcId;
  let curAz = az;
  for (let n = 0; n < MAX_HOPS && rt !== undefined; n++) {
    const rtName = net.rtNames.get(rt) ?? rt;
    const route = net.lookup(net.routes.get(rt), addr);
    const local = (net.vpcCidrs.get(vpc) ?? []).find((c) => inCidr(addr, c));
    if (!route || (local && prefixLen(local) >= prefixLen(route.dest))) {
      if (local) {
        hops.push({
          kind: "route-table",
          id: rt,
          text: `route table ${rtName}: ${addr} matches local ${local}`,
        });
        const sub = [...net.subnets.entries()].find(
          ([, s]) =>
            s.vpcId === vpc &&
            (inCidr(addr, s.cidr) || (s.ipv6 !== undefined && inCidr(addr, s.ipv6))),
        );
        const name = sub ? sub[1].name : (targetSubnetId ?? "subnet");
        hops.push({ kind: "deliver", text: `delivered to ${name}` });
        return { hops, endpoints, delivered: true };
      }
      hops.push({
        kind: "drop",
        id: rt,
        text: `route table ${rtName}: no route for ${addr} (dropped)`,
      });
      return { hops, endpoints, delivered: false };
    }
    const t = route.target;
    if (t.kind === "vpce") {
      const ep = net.endpoints.get(t.id);
      const epSub = ep ? net.subnets.get(ep.subnetId) : undefined;
      const epAz = epSub?.az ?? "?";
      hops.push({
        kind: "route-table",
        id: rt,
        text: `route table ${rtName}: ${route.dest} -> ${t.id}`,
      });
      hops.push({
        kind: "gwlb-endpoint",
        id: t.id,
        az: epAz,
        text: `GWLB endpoint ${ep?.name ?? t.id} (${epAz})${epAz !== curAz ? `  !! AZ ${curAz} -> ${epAz}` : ""}`,
      });
      hops.push({
        kind: "appliance",
        text: `${net.gwlbName} -> appliance (GENEVE udp/6081) -> back to the endpoint`,
      });
      endpoints.push(epAz);
      rt = ep ? net.subnetRt.get(ep.subnetId) : undefined;
      if (epSub) vpc = epSub.vpcId;
      curAz = epAz;
      continue;
    }
    if (t.kind === "nat") {
      const nat = net.nats.get(t.id);
      const natSub = nat ? net.subnets.get(nat.subnetId) : undefined;
      hops.push({
        kind: "route-table",
        id: rt,
        text: `route table ${rtName}: ${route.dest} -> ${t.id}`,
      });
      hops.push({
        kind: "nat-gateway",
        id: t.id,
        az: natSub?.az,
        text: `NAT gateway ${nat?.name ?? t.id} (${natSub?.az ?? "?"})${natSub && natSub.az !== curAz ? `  !! AZ ${curAz} -> ${natSub.az}` : ""}`,
      });
      rt = nat ? net.subnetRt.get(nat.subnetId) : undefined;
      if (natSub) curAz = natSub.az;
      continue;
    }
    if (t.kind === "tgw") {
      hops.push({
        kind: "route-table",
        id: rt,
        text: `route table ${rtName}: ${route.dest} -> ${t.id}`,
      });
      const from = [...net.attachments.entries()].find(([, a]) => a.vpcId === vpc);
      if (!from) {
        hops.push({ kind: "drop", text: `no TGW attachment in ${vpc} (dropped)` });
        return { hops, endpoints, delivered: false };
      }
      const tgwRt = net.tgwAssoc.get(from[0]);
      const tr = tgwRt ? net.lookup(net.tgwRoutes.get(tgwRt), addr) : undefined;
      hops.push({ kind: "transit-gateway", id: t.id, text: `transit gateway via ${from[1].name}` });
      if (!tgwRt || !tr) {
        hops.push({
          kind: "drop",
          text: `TGW route table ${tgwRt ? net.tgwRtNames.get(tgwRt) : "(none associated)"}: no route for ${addr} (dropped)`,
        });
        return { hops, endpoints, delivered: false };
      }
      const to = net.attachments.get(tr.target.id);
      hops.push({
        kind: "tgw-route-table",
        id: tgwRt,
        text: `TGW route table ${net.tgwRtNames.get(tgwRt)}: ${tr.dest} -> ${to?.name ?? tr.target.id}${to?.applianceMode ? " (appliance mode)" : ""}`,
      });
      if (!to) return { hops, endpoints, delivered: false };
      const sub =
        to.subnetIds
          .map((id) => [id, net.subnets.get(id)] as const)
          .find(([, s]) => s?.az === curAz) ??
        to.subnetIds.map((id) => [id, net.subnets.get(id)] as const)[0];
      if (!sub) return { hops, endpoints, delivered: false };
      vpc = to.vpcId;
      curAz = sub[1]?.az ?? curAz;
      rt = net.subnetRt.get(sub[0]);
      continue;
    }
    // gateway
    const igw = net.igws.get(t.id);
    hops.push({
      kind: "route-table",
      id: rt,
      text: `route table ${rtName}: ${route.dest} -> ${t.id}`,
    });
    if (igw !== undefined || t.id.startsWith("igw-")) {
      hops.push({ kind: "internet-gateway", id: t.id, text: `internet gateway ${igw ?? t.id}` });
      hops.push({ kind: "internet", text: "internet" });
      return { hops, endpoints, delivered: true };
    }
    hops.push({ kind: "drop", text: `unknown target ${t.id} (dropped)` });
    return { hops, endpoints, delivered: false };
  }
  if (rt === undefined)
    hops.push({ kind: "drop", text: "subnet has no route table association (dropped)" });
  return { hops, endpoints, delivered: false };
}

interface Start {
  topology: "north-south" | "egress";
  id: string;
  name: string;
  az: string;
  cidr: string;
  ipv6Cidr?: string;
  routeTableId: string;
  vpcId: string;
}

/** All packet paths of a deployment: per inspected subnet, outbound and inbound, IPv4 and IPv6. */
export function followThePacket(dep: DeploymentV3): PacketPath[] {
  const resources = dep.deployment.resources;
  const net = new Network(resources);
  const starts: Start[] = [];
  for (const r of resources) {
    const o = r.outputs as Outs;
    if (r.type === "tollgate:inspectedVpc:InspectedVpc") {
      for (const w of (o.workloadSubnets as Outs[]) ?? []) {
        const id = String(w.id);
        starts.push({
          topology: "north-south",
          id,
          name: net.subnets.get(id)?.name ?? id,
          az: String(w.availabilityZone),
          cidr: String(w.cidr),
          ipv6Cidr: w.ipv6Cidr ? String(w.ipv6Cidr) : undefined,
          routeTableId: String(w.routeTableId),
          vpcId: String(o.vpcId),
        });
      }
    }
    if (r.type === "tollgate:egress:Egress") {
      for (const w of (o.spokeSubnets as Outs[]) ?? []) {
        const id = String(w.id);
        const sub = net.subnets.get(id);
        starts.push({
          topology: "egress",
          id,
          name: sub?.name ?? id,
          az: String(w.availabilityZone),
          cidr: String(w.cidr),
          routeTableId: String(w.routeTableId),
          vpcId: sub?.vpcId ?? "",
        });
      }
    }
  }
  const paths: PacketPath[] = [];
  for (const s of starts) {
    const families: ("ipv4" | "ipv6")[] = s.ipv6Cidr ? ["ipv4", "ipv6"] : ["ipv4"];
    for (const family of families) {
      const internet = family === "ipv4" ? "198.51.100.10" : "2001:db8::10";
      const out = walk(net, s.routeTableId, s.vpcId, s.az, internet);
      paths.push(mkPath(s, "outbound", family, internet, out));
      const local = sampleAddress(family === "ipv4" ? s.cidr : s.ipv6Cidr!);
      if (s.topology === "north-south") {
        const edgeRt = [...net.gatewayRt.values()].find((rt) => net.rtVpc.get(rt) === s.vpcId);
        const back = edgeRt
          ? walk(net, edgeRt, s.vpcId, s.az, local, s.id)
          : {
              hops: [{ kind: "drop" as const, text: "no IGW edge route table (dropped)" }],
              endpoints: [],
              delivered: false,
            };
        paths.push(
          mkPath(s, "inbound", family, local, {
            ...back,
            hops: [
              { kind: "internet", text: `internet -> internet gateway (edge association)` },
              ...back.hops,
            ],
          }),
        );
      } else {
        // Return traffic of an egress flow arrives at the NAT gateway the flow left through.
        const natId = [...out.hops].reverse().find((h) => h.kind === "nat-gateway")?.id;
        const nat = natId !== undefined ? net.nats.get(natId) : undefined;
        const natEntry = natId !== undefined && nat ? ([natId, nat] as const) : undefined;
        const natRt = natEntry ? net.subnetRt.get(natEntry[1].subnetId) : undefined;
        const natSub = natEntry ? net.subnets.get(natEntry[1].subnetId) : undefined;
        const back =
          natRt && natSub
            ? walk(net, natRt, natSub.vpcId, s.az, local, s.id)
            : {
                hops: [{ kind: "drop" as const, text: "no NAT gateway in this AZ (dropped)" }],
                endpoints: [],
                delivered: false,
              };
        paths.push(
          mkPath(s, "inbound", family, local, {
            ...back,
            hops: [
              {
                kind: "nat-gateway",
                text: `reply from the internet -> NAT gateway ${natEntry?.[1].name ?? "?"} (${s.az})`,
              },
              ...back.hops,
            ],
          }),
        );
      }
    }
  }
  return paths;
}

function mkPath(
  s: Start,
  direction: "outbound" | "inbound",
  family: "ipv4" | "ipv6",
  destination: string,
  w: { hops: Hop[]; endpoints: string[]; delivered: boolean },
): PacketPath {
  return {
    topology: s.topology,
    subnet: { id: s.id, name: s.name, az: s.az, cidr: family === "ipv4" ? s.cidr : s.ipv6Cidr! },
    direction,
    family,
    destination,
    hops: w.hops,
    inspected: w.endpoints.length > 0,
    sameAz: w.endpoints.every((az) => az === s.az),
    delivered: w.delivered,
  };
}

/** Human-readable rendering of {@link followThePacket}. */
export function renderPaths(paths: readonly PacketPath[]): string {
  const lines: string[] = [];
  let last = "";
  for (const p of paths) {
    const head = `${p.topology}  ${p.subnet.name} (${p.subnet.id}, ${p.subnet.az})`;
    if (head !== last) {
      lines.push("", head);
      last = head;
    }
    const verdict = !p.delivered
      ? "NOT DELIVERED"
      : !p.inspected
        ? "NOT INSPECTED"
        : !p.sameAz
          ? "INSPECTED, CROSSES AZ"
          : "inspected, same AZ";
    lines.push(
      `  ${p.direction} ${p.family} ${p.direction === "outbound" ? `to ${p.destination}` : `to ${p.destination} (${p.subnet.cidr})`}: ${verdict}`,
    );
    p.hops.forEach((h, i) => lines.push(`    ${String(i + 1).padStart(2)}. ${h.text}`));
  }
  return lines.join("\n").replace(/^\n/, "") + "\n";
}
