/**
 * The topology builder's steps: one handler per resource kind, in the order the build runs them
 * (a kind's handler may use the nodes of the kinds before it), plus the passes over the whole graph.
 */
import type { PolicyResource } from "@pulumi/policy/policy";
import { parseCidr } from "./cidr";
import { type Graph, inferRole, taggedRole } from "./graph";
import type * as N from "./nodes";
import { destOf, targetOf } from "./route-entry";
import { labelOf } from "./stack-index";
import { T } from "./types";
import { arr, bag, bool, isUnknown, str, unwrap } from "./values";
import {
  addFleetRegistration,
  addFlowLog,
  addListener,
  addLoadBalancer,
  addTargetGroup,
  addAutoScalingGroup,
  linkEndpointServices,
  addPrefixList,
  addPrefixListEntry,
} from "./chain";

/** A step of the build: a handler run for each resource of the given types, or a graph pass. */
export type Step =
  | {
      readonly types: readonly string[];
      readonly each: (g: Graph, r: PolicyResource) => void;
    }
  | { readonly pass: (g: Graph) => void };

function addVpc(g: Graph, r: PolicyResource): void {
  g.vpcNode(r.urn, r);
}

function addSubnet(g: Graph, r: PolicyResource): void {
  const p = bag(r.props);
  const vpc = g.vpcOf(r, "vpcId");
  const ipv6Raw = unwrap(p.ipv6CidrBlock);
  const s: N.SubnetNode = {
    res: r,
    p,
    id: str(p.id),
    urn: r.urn,
    label: labelOf(r, "subnet"),
    vpc,
    az: str(p.availabilityZone) ?? str(p.availabilityZoneId),
    cidr: parseCidr(str(p.cidrBlock)),
    ipv6: parseCidr(str(p.ipv6CidrBlock)),
    hasIpv6: (typeof ipv6Raw === "string" && ipv6Raw !== "") || bool(p.ipv6Native) === true,
    external: false,
    role: taggedRole(p) ?? "workload",
    endpoints: [],
    natGateways: [],
  };
  g.subnetsByUrn.set(r.urn, s);
  vpc.subnets.push(s);
}

/** A route table, or a VPC's default (main) route table. */
function addRouteTable(g: Graph, r: PolicyResource): void {
  const p = bag(r.props);
  const isDefault = r.type === T.defaultRouteTable;
  const defaultOf =
    g.index.ref(r, "defaultRouteTableId", undefined, [T.vpc]) ??
    g.vpcByMainRtId.get(str(p.defaultRouteTableId) ?? "");
  const vpc = isDefault ? g.vpcFor(r, defaultOf, str(p.vpcId)) : g.vpcOf(r, "vpcId");
  const rt: N.RouteTableNode = {
    res: r,
    p,
    id: str(p.id),
    urn: r.urn,
    label: labelOf(r, "route table"),
    vpc,
    routes: [],
    subnets: [],
    edgeGateways: [],
  };
  g.rts.set(r.urn, rt);
  vpc.routeTables.push(rt);
  if (isDefault) {
    vpc.defaultRt = rt;
    vpc.mainRt ??= rt;
  }
}

function addInternetGateway(g: Graph, r: PolicyResource): void {
  const p = bag(r.props);
  const attached = str(p.vpcId) || r.propertyDependencies?.vpcId?.length;
  const vpc = attached ? g.vpcOf(r, "vpcId") : undefined;
  const gw: N.GatewayNode = {
    res: r,
    p,
    id: str(p.id),
    urn: r.urn,
    label: labelOf(r, "internet gateway"),
    vpc,
  };
  g.igws.set(r.urn, gw);
  vpc?.igws.push(gw);
}

/** GWLB endpoints (and other interface endpoints, kept for route classification). */
function addEndpoint(g: Graph, r: PolicyResource): void {
  const p = bag(r.props);
  const vpc = g.vpcOf(r, "vpcId");
  const subnetIds = arr(p.subnetIds);
  const subnetRes = g.index.refs(r, "subnetIds", subnetIds, [T.subnet]);
  const subnet =
    subnetRes.length === 1 && subnetRes[0]
      ? g.subnetsByUrn.get(subnetRes[0].urn)
      : subnetIds.length === 1
        ? g.subnetOf(r, "subnetIds", subnetIds[0], vpc)
        : undefined;
  const isGwlb = str(p.vpcEndpointType) === "GatewayLoadBalancer";
  const e: N.EndpointNode = {
    res: r,
    p,
    id: str(p.id),
    urn: r.urn,
    label: labelOf(r, isGwlb ? "GWLB endpoint" : "VPC endpoint"),
    vpc,
    subnet,
    az: subnet?.az,
  };
  g.endpoints.set(r.urn, e);
  if (!isGwlb) return;
  vpc.endpoints.push(e);
  if (subnet) {
    subnet.endpoints.push(e);
    if (!subnet.external) inferRole(subnet, "gwlbe");
  }
}

function addNatGateway(g: Graph, r: PolicyResource): void {
  const p = bag(r.props);
  const subnet = g.subnetOf(r, "subnetId", p.subnetId);
  const n: N.NatNode = {
    res: r,
    p,
    id: str(p.id),
    urn: r.urn,
    label: labelOf(r, "NAT gateway"),
    subnet,
    az: subnet?.az,
  };
  g.nats.set(r.urn, n);
  if (subnet) {
    subnet.natGateways.push(n);
    subnet.vpc.natGateways.push(n);
    inferRole(subnet, "public", "workload");
  }
}

/** Appliance subnets: where the GWLB lives. */
function markLoadBalancerSubnets(g: Graph, r: PolicyResource): void {
  const p = bag(r.props);
  const mappings = arr(p.subnetMappings).map((m) => bag(m).subnetId);
  markAppliance(g, g.index.refs(r, "subnets", arr(p.subnets), [T.subnet]));
  markAppliance(g, g.index.refs(r, "subnetMappings", mappings, [T.subnet]));
}

/** Appliance subnets: where the appliance fleet lives. */
function markFleetSubnets(g: Graph, r: PolicyResource): void {
  const zones = arr(bag(r.props).vpcZoneIdentifiers);
  markAppliance(g, g.index.refs(r, "vpcZoneIdentifiers", zones, [T.subnet]));
}

function markAppliance(g: Graph, refs: readonly PolicyResource[]): void {
  for (const s of g.subnetsOf(refs)) inferRole(s, "appliance");
}

function addTgwAttachment(g: Graph, r: PolicyResource): void {
  const p = bag(r.props);
  const vpc = g.vpcOf(r, "vpcId");
  const subnetIds = arr(p.subnetIds);
  const subs = new Map<string, N.SubnetNode>();
  for (const s of g.subnetsOf(g.index.refs(r, "subnetIds", subnetIds, [T.subnet])))
    subs.set(s.urn!, s);
  if (subs.size === 0) {
    for (const v of subnetIds) {
      const s = g.subnetOf(r, "subnetIds", v, vpc);
      if (s) subs.set(s.urn ?? s.id ?? s.label, s);
    }
  }
  const tgwRes = g.index.ref(r, "transitGatewayId", p.transitGatewayId, [T.tgw]);
  const tgwKey = tgwRes?.urn ?? str(p.transitGatewayId) ?? `unknown:${r.urn}`;
  const a: N.AttachmentNode = {
    res: r,
    p,
    id: str(p.id),
    urn: r.urn,
    label: labelOf(r, "TGW attachment"),
    vpc,
    subnets: [...subs.values()],
    applianceMode: isUnknown(unwrap(p.applianceModeSupport))
      ? "(unknown)"
      : str(p.applianceModeSupport),
    tgwKey,
  };
  g.attachments.push(a);
  g.attachmentsByUrn.set(r.urn, a);
  vpc.attachments.push(a);
  let list = g.tgwVpcs.get(tgwKey);
  if (!list) g.tgwVpcs.set(tgwKey, (list = []));
  list.push(vpc);
  for (const s of a.subnets) inferRole(s, "attachment", "workload");
}

function addTgwRouteTable(g: Graph, r: PolicyResource): void {
  const p = bag(r.props);
  g.tgwRts.set(r.urn, {
    res: r,
    p,
    id: str(p.id),
    urn: r.urn,
    label: labelOf(r, "TGW route table"),
    routes: [],
  });
}

function addTgwAssociation(g: Graph, r: PolicyResource): void {
  const { rt, attachment } = g.tgwLink(r);
  if (rt && attachment) attachment.tgwRt = rt;
}

function addTgwRoute(g: Graph, r: PolicyResource): void {
  const { rt, attachment } = g.tgwLink(r);
  const cidr = parseCidr(str(bag(r.props).destinationCidrBlock));
  if (!rt || !cidr) return;
  rt.routes.push({
    dest: { text: cidr.text, cidr, family: cidr.family },
    attachment,
    propagated: false,
  });
}

/** A propagation: the attachment's VPC blocks become routes of the TGW route table. */
function addTgwPropagation(g: Graph, r: PolicyResource): void {
  const { rt, attachment } = g.tgwLink(r);
  if (!rt || !attachment) return;
  for (const cidr of attachment.vpc.cidrs) {
    rt.routes.push({
      dest: { text: cidr.text, cidr, family: cidr.family },
      attachment,
      propagated: true,
    });
  }
}

/** An association: subnet -> route table, or gateway -> edge route table. */
function addRtAssociation(g: Graph, r: PolicyResource): void {
  const p = bag(r.props);
  const rt = g.rtOf(r, "routeTableId");
  const hasSubnet =
    str(p.subnetId) !== undefined || (r.propertyDependencies?.subnetId?.length ?? 0) > 0;
  if (!rt) {
    // The table is unknown: the subnet is associated with something, just not its main table.
    const s = hasSubnet ? g.subnetOf(r, "subnetId", p.subnetId) : undefined;
    if (s) g.associatedElsewhere.add(s);
    return;
  }
  if (hasSubnet) {
    const s = g.subnetOf(r, "subnetId", p.subnetId, rt.vpc);
    if (s)
      g.associate(s, rt, { res: r, p, urn: r.urn, label: labelOf(r, "route table association") });
    return;
  }
  const gw = edgeGateway(g, r, rt);
  if (gw) {
    gw.edgeRt = rt;
    rt.edgeGateways.push(gw);
  }
}

/** The gateway of an edge association (a gateway outside the stack joins the table's VPC). */
function edgeGateway(g: Graph, r: PolicyResource, rt: N.RouteTableNode): N.GatewayNode | undefined {
  const p = bag(r.props);
  const gwRes = g.index.ref(r, "gatewayId", p.gatewayId, [T.igw]);
  const known = gwRes ? g.igws.get(gwRes.urn) : undefined;
  const literal = str(p.gatewayId);
  if (known || !literal) return known;
  const gw: N.GatewayNode = {
    p: {},
    id: literal,
    label: `gateway ${literal} (outside the stack)`,
    vpc: rt.vpc,
  };
  g.igws.set(`id:${literal}`, gw);
  rt.vpc.igws.push(gw);
  return gw;
}

/** Adopted subnets that keep an existing route table: no association in the stack names them. */
function adoptedSubnetTables(g: Graph): void {
  for (const [id, h] of g.hints.subnets) {
    if (!h.routeTableId || g.index.byId.has(id)) continue;
    const rt = g.externalRt(h.routeTableId);
    const sub = g.subnetsByKey.get(id) ?? g.externalSubnet(id, rt.vpc);
    if (!sub.rt) g.associate(sub, rt);
  }
}

function addMainRtAssociation(g: Graph, r: PolicyResource): void {
  const rt = g.rtOf(r, "routeTableId");
  if (rt) g.vpcOf(r, "vpcId").mainRt = rt;
}

function addRoute(g: Graph, r: PolicyResource): void {
  const p = bag(r.props);
  const rt = g.rtOf(r, "routeTableId");
  if (!rt) return;
  const dest = destOf(g, r, p, ["destinationCidrBlock", "destinationIpv6CidrBlock"], false);
  const target = targetOf(g, r, p, false);
  if (!dest || !target) return;
  rt.routes.push({
    table: rt,
    dest,
    target,
    source: { res: r, p, urn: r.urn, label: labelOf(r, "route") },
  });
}

/** Inline routes of the stack's RouteTable resources. */
function inlineRoutes(g: Graph): void {
  for (const rt of g.rts.values()) {
    const r = rt.res;
    if (!r) continue;
    for (const e of arr(rt.p.routes)) {
      const entry = bag(e);
      const dest = destOf(g, r, entry, ["cidrBlock", "ipv6CidrBlock"], true);
      const target = targetOf(g, r, entry, true);
      if (dest && target) rt.routes.push({ table: rt, dest, target, source: rt });
    }
  }
}

/**
 * Subnets without an explicit association use their VPC's main route table: the table a
 * MainRouteTableAssociation names, else the VPC's default table (DefaultRouteTable, or the table
 * AWS creates with the local route only). Unknown for VPCs outside the stack.
 */
function mainTableFallback(g: Graph): void {
  for (const v of g.vpcs.values()) {
    const main = v.mainRt ?? g.defaultRtOf(v);
    if (!main) continue;
    for (const s of v.subnets) {
      if (!s.rt && !s.external && !g.associatedElsewhere.has(s)) g.associate(s, main);
    }
  }
}

/** The build, in order: nodes first, then what links and classifies them, then routes. */
export const STEPS: readonly Step[] = [
  { types: [T.vpc], each: addVpc },
  { types: [T.subnet], each: addSubnet },
  { types: [T.routeTable, T.defaultRouteTable], each: addRouteTable },
  { types: [T.igw], each: addInternetGateway },
  { types: [T.vpce], each: addEndpoint },
  { types: [T.nat], each: addNatGateway },
  { types: [T.lb], each: markLoadBalancerSubnets },
  { types: [T.asg], each: markFleetSubnets },
  { types: [T.lb], each: addLoadBalancer },
  { types: [T.targetGroup], each: addTargetGroup },
  { types: [T.listener], each: addListener },
  { types: [T.asg], each: addAutoScalingGroup },
  {
    types: [T.asgAttachment, T.asgTrafficSource, T.targetGroupAttachment],
    each: addFleetRegistration,
  },
  { pass: linkEndpointServices },
  { types: [T.flowLog], each: addFlowLog },
  { types: [T.tgwAttachment], each: addTgwAttachment },
  { types: [T.tgwRouteTable], each: addTgwRouteTable },
  { types: [T.tgwRtAssoc], each: addTgwAssociation },
  { types: [T.tgwRoute], each: addTgwRoute },
  { types: [T.tgwRtPropagation], each: addTgwPropagation },
  { types: [T.rtAssoc], each: addRtAssociation },
  { pass: adoptedSubnetTables },
  { types: [T.mainRtAssoc], each: addMainRtAssociation },
  { types: [T.prefixList], each: addPrefixList },
  { types: [T.prefixListEntry], each: addPrefixListEntry },
  { types: [T.route], each: addRoute },
  { pass: inlineRoutes },
  { pass: mainTableFallback },
];
