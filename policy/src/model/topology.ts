/**
 * The routing topology of a stack, built in one linear pass over the resources.
 *
 * Resources are linked through `propertyDependencies` (the only link available during preview, when
 * ids are unknown) and through ids/ARNs (exported state, offline plans). Every lookup goes through
 * maps built once per run: there are no nested scans, so building and querying is O(resources).
 */
import type { PolicyResource } from "@pulumi/policy/policy";
import { Cidr, parseCidr } from "./cidr";
import type {
  AttachmentNode,
  Dest,
  EndpointNode,
  GatewayNode,
  NatNode,
  RouteTableNode,
  SubnetNode,
  SubnetRole,
  Target,
  TgwRouteTableNode,
  TargetKind,
  Topology,
  VpcNode,
} from "./nodes";
import { labelOf, StackIndex } from "./stack-index";
import { T } from "./types";
import { arr, bag, Bag, bool, isUnknown, str, unwrap } from "./values";

export * from "./nodes";
export * from "./lookup";
export { labelOf, StackIndex } from "./stack-index";

const ROLE_TAG = "tollgate:role";
const ROLES: ReadonlySet<string> = new Set([
  "workload",
  "attachment",
  "gwlbe",
  "public",
  "appliance",
]);

const topologyCache = new WeakMap<readonly PolicyResource[], Topology>();

/** Builds (or returns the cached) topology for a stack's resources. */
export function topologyOf(resources: readonly PolicyResource[]): Topology {
  const cached = topologyCache.get(resources);
  if (cached) return cached;
  const t = build(resources);
  topologyCache.set(resources, t);
  return t;
}

function build(resources: readonly PolicyResource[]): Topology {
  const index = new StackIndex(resources);
  const vpcs = new Map<string, VpcNode>();
  const subnetsByUrn = new Map<string, SubnetNode>();
  const subnetsByKey = new Map<string, SubnetNode>(); // external subnets by id
  const rts = new Map<string, RouteTableNode>();
  const endpoints = new Map<string, EndpointNode>();
  const nats = new Map<string, NatNode>();
  const igws = new Map<string, GatewayNode>();
  const attachments: AttachmentNode[] = [];
  const byType = new Map<string, PolicyResource[]>();
  for (const r of resources) {
    let list = byType.get(r.type);
    if (!list) byType.set(r.type, (list = []));
    list.push(r);
  }
  const ofType = (t: string): PolicyResource[] => byType.get(t) ?? [];
  const hints = externalHints(ofType(T.inspectedVpc));

  const vpcNode = (key: string, res?: PolicyResource, literal?: string): VpcNode => {
    let v = vpcs.get(key);
    if (!v) {
      const p = bag(res?.props);
      const cidrs: Cidr[] = [];
      const hinted = literal ? hints.vpcCidrs.get(literal) : undefined;
      for (const c of [str(p.cidrBlock), str(p.ipv6CidrBlock), hinted]) {
        const parsed = parseCidr(c);
        if (parsed) cidrs.push(parsed);
      }
      v = {
        key,
        res,
        p,
        id: res ? str(p.id) : literal,
        urn: res?.urn,
        label: labelOf(res, "vpc", res ? undefined : literal),
        cidrs,
        subnets: [],
        endpoints: [],
        igws: [],
        attachments: [],
        natGateways: [],
      };
      vpcs.set(key, v);
    }
    return v;
  };
  for (const r of ofType(T.vpc)) vpcNode(r.urn, r);
  const vpcOf = (from: PolicyResource, prop: string): VpcNode => {
    const p = bag(from.props);
    const res = index.ref(from, prop, p[prop], [T.vpc]);
    if (res) return vpcNode(res.urn, res);
    const literal = str(p[prop]);
    if (literal) return vpcNode(`id:${literal}`, undefined, literal);
    return vpcNode(`unknown:${from.urn}`);
  };

  // Subnets.
  for (const r of ofType(T.subnet)) {
    const p = bag(r.props);
    const vpc = vpcOf(r, "vpcId");
    const tags = bag(p.tags);
    const tagRole = str(tags[ROLE_TAG]);
    const ipv6Raw = unwrap(p.ipv6CidrBlock);
    const s: SubnetNode = {
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
      role: tagRole && ROLES.has(tagRole) ? (tagRole as SubnetRole) : "workload",
      endpoints: [],
      natGateways: [],
    };
    subnetsByUrn.set(r.urn, s);
    vpc.subnets.push(s);
  }
  const subnetOf = (
    from: PolicyResource,
    prop: string,
    value: unknown,
    vpcHint?: VpcNode,
  ): SubnetNode | undefined => {
    const res = index.ref(from, prop, value, [T.subnet]);
    if (res) return subnetsByUrn.get(res.urn);
    const literal = str(value);
    if (!literal) return undefined;
    return subnetsByKey.get(literal) ?? externalSubnet(literal, vpcHint);
  };
  function externalSubnet(literal: string, vpcHint?: VpcNode): SubnetNode {
    const vpc = vpcHint ?? vpcNode(`unknown-subnet-vpc:${literal}`);
    const hint = hints.subnets.get(literal);
    const ipv6 = parseCidr(hint?.ipv6Cidr);
    const s: SubnetNode = {
      p: {},
      id: literal,
      label: `subnet ${literal} (outside the stack)`,
      vpc,
      az: hint?.az,
      cidr: parseCidr(hint?.cidr),
      ipv6,
      hasIpv6: ipv6 !== undefined,
      external: true,
      role: "workload",
      endpoints: [],
      natGateways: [],
    };
    subnetsByKey.set(literal, s);
    vpc.subnets.push(s);
    return s;
  }

  // Route tables (regular and default).
  for (const r of [...ofType(T.routeTable), ...ofType(T.defaultRouteTable)]) {
    const p = bag(r.props);
    const vpc = r.type === T.routeTable ? vpcOf(r, "vpcId") : defaultRtVpc(r);
    const rt: RouteTableNode = {
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
    rts.set(r.urn, rt);
    if (r.type === T.defaultRouteTable) vpc.mainRt = rt;
  }
  function defaultRtVpc(r: PolicyResource): VpcNode {
    const p = bag(r.props);
    const vpcRes = index.ref(r, "defaultRouteTableId", undefined, [T.vpc]);
    if (vpcRes) return vpcNode(vpcRes.urn, vpcRes);
    const literal = str(p.vpcId);
    return literal ? vpcNode(`id:${literal}`, undefined, literal) : vpcNode(`unknown:${r.urn}`);
  }
  /** A route table outside the stack (an adopted subnet's existing table), by id. */
  const externalRt = (id: string): RouteTableNode => {
    let rt = rts.get(`id:${id}`);
    if (!rt) {
      const vpcId = hints.rtVpcs.get(id);
      const vpcRes = vpcId ? index.byId.get(vpcId) : undefined;
      const vpc =
        vpcRes && vpcRes.type === T.vpc
          ? vpcNode(vpcRes.urn, vpcRes)
          : vpcId
            ? vpcNode(`id:${vpcId}`, undefined, vpcId)
            : vpcNode(`unknown-rt-vpc:${id}`);
      rt = {
        p: {},
        id,
        label: `route table ${id} (outside the stack)`,
        vpc,
        routes: [],
        subnets: [],
        edgeGateways: [],
      };
      rts.set(`id:${id}`, rt);
    }
    return rt;
  };
  const rtOf = (from: PolicyResource, prop: string): RouteTableNode | undefined => {
    const value = bag(from.props)[prop];
    const res = index.ref(from, prop, value, [T.routeTable, T.defaultRouteTable]);
    if (res) return rts.get(res.urn);
    const literal = str(value);
    return literal?.startsWith("rtb-") ? externalRt(literal) : undefined;
  };

  // Internet gateways.
  for (const r of ofType(T.igw)) {
    const p = bag(r.props);
    const vpc =
      str(p.vpcId) || r.propertyDependencies?.vpcId?.length ? vpcOf(r, "vpcId") : undefined;
    const g: GatewayNode = {
      res: r,
      p,
      id: str(p.id),
      urn: r.urn,
      label: labelOf(r, "internet gateway"),
      vpc,
    };
    igws.set(r.urn, g);
    vpc?.igws.push(g);
  }

  // GWLB endpoints (and other interface endpoints, kept for route classification).
  for (const r of ofType(T.vpce)) {
    const p = bag(r.props);
    const vpc = vpcOf(r, "vpcId");
    const subnetIds = arr(p.subnetIds);
    const subnetRes = index.refs(r, "subnetIds", subnetIds, [T.subnet]);
    const subnet =
      subnetRes.length === 1 && subnetRes[0]
        ? subnetsByUrn.get(subnetRes[0].urn)
        : subnetIds.length === 1
          ? subnetOf(r, "subnetIds", subnetIds[0], vpc)
          : undefined;
    const type = str(p.vpcEndpointType);
    const service = index.ref(r, "serviceName", p.serviceName, [T.vpceService]);
    const lb = service
      ? index.refs(
          service,
          "gatewayLoadBalancerArns",
          arr(bag(service.props).gatewayLoadBalancerArns),
          [T.lb],
        )[0]
      : undefined;
    const e: EndpointNode = {
      res: r,
      p,
      id: str(p.id),
      urn: r.urn,
      label: labelOf(r, type === "GatewayLoadBalancer" ? "GWLB endpoint" : "VPC endpoint"),
      vpc,
      subnet,
      az: subnet?.az,
      gwlb: lb ? { res: lb, p: bag(lb.props), urn: lb.urn, label: `GWLB "${lb.name}"` } : undefined,
    };
    endpoints.set(r.urn, e);
    if (type === "GatewayLoadBalancer") {
      vpc.endpoints.push(e);
      if (subnet) {
        subnet.endpoints.push(e);
        if (!subnet.external && !hasRoleTag(subnet)) subnet.role = "gwlbe";
      }
    }
  }

  // NAT gateways.
  for (const r of ofType(T.nat)) {
    const p = bag(r.props);
    const subnet = subnetOf(r, "subnetId", p.subnetId);
    const n: NatNode = {
      res: r,
      p,
      id: str(p.id),
      urn: r.urn,
      label: labelOf(r, "NAT gateway"),
      subnet,
      az: subnet?.az,
    };
    nats.set(r.urn, n);
    if (subnet) {
      subnet.natGateways.push(n);
      subnet.vpc.natGateways.push(n);
      if (!hasRoleTag(subnet) && subnet.role === "workload") subnet.role = "public";
    }
  }

  // Appliance subnets: where the GWLB and the appliance fleet live.
  for (const r of ofType(T.lb)) {
    const p = bag(r.props);
    const mappings = arr(p.subnetMappings).map((m) => bag(m).subnetId);
    for (const sr of index.refs(r, "subnets", arr(p.subnets), [T.subnet])) markAppliance(sr);
    for (const sr of index.refs(r, "subnetMappings", mappings, [T.subnet])) markAppliance(sr);
  }
  for (const r of ofType(T.asg)) {
    for (const sr of index.refs(r, "vpcZoneIdentifiers", arr(bag(r.props).vpcZoneIdentifiers), [
      T.subnet,
    ])) {
      markAppliance(sr);
    }
  }
  function markAppliance(sr: PolicyResource): void {
    const s = subnetsByUrn.get(sr.urn);
    if (s && !hasRoleTag(s)) s.role = "appliance";
  }

  // Transit Gateway attachments.
  const tgwVpcs = new Map<string, VpcNode[]>();
  for (const r of ofType(T.tgwAttachment)) {
    const p = bag(r.props);
    const vpc = vpcOf(r, "vpcId");
    const subnetIds = arr(p.subnetIds);
    const subs = new Map<string, SubnetNode>();
    for (const sr of index.refs(r, "subnetIds", subnetIds, [T.subnet])) {
      const s = subnetsByUrn.get(sr.urn);
      if (s) subs.set(sr.urn, s);
    }
    if (subs.size === 0) {
      for (const v of subnetIds) {
        const s = subnetOf(r, "subnetIds", v, vpc);
        if (s) subs.set(s.urn ?? s.id ?? s.label, s);
      }
    }
    const tgwRes = index.ref(r, "transitGatewayId", p.transitGatewayId, [T.tgw]);
    const tgwKey = tgwRes?.urn ?? str(p.transitGatewayId) ?? `unknown:${r.urn}`;
    const a: AttachmentNode = {
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
    attachments.push(a);
    vpc.attachments.push(a);
    let list = tgwVpcs.get(tgwKey);
    if (!list) tgwVpcs.set(tgwKey, (list = []));
    list.push(vpc);
    for (const s of a.subnets) {
      if (!hasRoleTag(s) && s.role === "workload") s.role = "attachment";
    }
  }

  // Transit Gateway route tables: associations, static routes, propagations.
  const tgwRts = new Map<string, TgwRouteTableNode>();
  for (const r of ofType(T.tgwRouteTable)) {
    tgwRts.set(r.urn, {
      res: r,
      p: bag(r.props),
      id: str(bag(r.props).id),
      urn: r.urn,
      label: labelOf(r, "TGW route table"),
      routes: [],
    });
  }
  const attachmentsByUrn = new Map(attachments.map((a) => [a.urn, a]));
  const tgwLink = (r: PolicyResource): { rt?: TgwRouteTableNode; attachment?: AttachmentNode } => {
    const p = bag(r.props);
    const rtRes = index.ref(r, "transitGatewayRouteTableId", p.transitGatewayRouteTableId, [
      T.tgwRouteTable,
    ]);
    const aRes = index.ref(r, "transitGatewayAttachmentId", p.transitGatewayAttachmentId, [
      T.tgwAttachment,
    ]);
    return {
      rt: rtRes ? tgwRts.get(rtRes.urn) : undefined,
      attachment: aRes ? attachmentsByUrn.get(aRes.urn) : undefined,
    };
  };
  for (const r of ofType(T.tgwRtAssoc)) {
    const { rt, attachment } = tgwLink(r);
    if (rt && attachment) attachment.tgwRt = rt;
  }
  for (const r of ofType(T.tgwRoute)) {
    const { rt, attachment } = tgwLink(r);
    const cidr = parseCidr(str(bag(r.props).destinationCidrBlock));
    if (rt && cidr)
      rt.routes.push({
        dest: { text: cidr.text, cidr, family: cidr.family },
        attachment,
        propagated: false,
      });
  }
  for (const r of ofType(T.tgwRtPropagation)) {
    const { rt, attachment } = tgwLink(r);
    if (!rt || !attachment) continue;
    for (const cidr of attachment.vpc.cidrs) {
      rt.routes.push({
        dest: { text: cidr.text, cidr, family: cidr.family },
        attachment,
        propagated: true,
      });
    }
  }

  // Associations: subnet -> route table, gateway -> edge route table.
  for (const r of ofType(T.rtAssoc)) {
    const p = bag(r.props);
    const rt = rtOf(r, "routeTableId");
    if (!rt) continue;
    const hasSubnet =
      str(p.subnetId) !== undefined || (r.propertyDependencies?.subnetId?.length ?? 0) > 0;
    if (hasSubnet) {
      const s = subnetOf(r, "subnetId", p.subnetId, rt.vpc);
      if (s) {
        s.rt = rt;
        rt.subnets.push(s);
      }
      continue;
    }
    const gwRes = index.ref(r, "gatewayId", p.gatewayId, [T.igw]);
    const literal = str(p.gatewayId);
    let g = gwRes ? igws.get(gwRes.urn) : undefined;
    if (!g && literal) {
      g = { p: {}, id: literal, label: `gateway ${literal} (outside the stack)`, vpc: rt.vpc };
      igws.set(`id:${literal}`, g);
      rt.vpc.igws.push(g);
    }
    if (g) {
      g.edgeRt = rt;
      rt.edgeGateways.push(g);
    }
  }
  // Adopted subnets that keep an existing route table: no association in the stack names them.
  for (const [id, h] of hints.subnets) {
    if (!h.routeTableId || index.byId.has(id)) continue;
    const rt = externalRt(h.routeTableId);
    const sub = subnetsByKey.get(id) ?? externalSubnet(id, rt.vpc);
    if (!sub.rt) {
      sub.rt = rt;
      rt.subnets.push(sub);
    }
  }
  for (const r of ofType(T.mainRtAssoc)) {
    const rt = rtOf(r, "routeTableId");
    if (rt) vpcOf(r, "vpcId").mainRt = rt;
  }

  // Routes: separate Route resources and inline RouteTable routes.
  /** The target of a route entry; `inline` routes share the RouteTable's "routes" dependencies. */
  const targetOf = (from: PolicyResource, entry: Bag, inline: boolean): Target | undefined => {
    const candidates: [string, TargetKind, string[]][] = [
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
    for (const [key, kind, types] of candidates) {
      const raw = unwrap(entry[key]);
      const depKey = inline ? "routes" : key;
      const hasDeps = !inline && (from.propertyDependencies?.[depKey]?.length ?? 0) > 0;
      const present = (typeof raw === "string" && raw !== "") || hasDeps;
      if (!present) continue;
      const literal = str(raw);
      if (key === "gatewayId" && literal === "local") return { kind: "local", label: "local" };
      const res = types.length > 0 ? index.ref(from, depKey, raw, types) : undefined;
      if (res) {
        if (res.type === T.vpce) {
          const e = endpoints.get(res.urn);
          const isGwlb = str(bag(res.props).vpcEndpointType) === "GatewayLoadBalancer";
          return {
            kind: isGwlb ? "gwlbe" : "vpce",
            node: e,
            label: e?.label ?? labelOf(res, "VPC endpoint"),
          };
        }
        if (res.type === T.nat) {
          const n = nats.get(res.urn);
          return { kind: "nat", node: n, label: n?.label ?? labelOf(res, "NAT gateway") };
        }
        if (res.type === T.igw) {
          const g = igws.get(res.urn);
          return { kind: "igw", node: g, label: g?.label ?? labelOf(res, "internet gateway") };
        }
        return {
          kind,
          node: { res, p: bag(res.props), urn: res.urn, label: labelOf(res, kindName(kind)) },
          label: labelOf(res, kindName(kind)),
        };
      }
      if (kind === "igw" && literal) {
        const g = igws.get(`id:${literal}`);
        if (g) return { kind: "igw", node: g, label: g.label };
      }
      let k = kind;
      if (key === "gatewayId" && literal?.startsWith("vgw-")) k = "vgw";
      return {
        kind: k,
        label: literal ? `${kindName(k)} ${literal}` : `${kindName(k)} (unknown during preview)`,
      };
    }
    return undefined;
  };
  const destOf = (
    from: PolicyResource,
    entry: Bag,
    v4Key: string,
    v6Key: string,
    inline: boolean,
  ): Dest | undefined => {
    const pl = str(entry.destinationPrefixListId);
    if (pl) return { text: pl, prefixList: pl };
    for (const [key, family] of [
      [v4Key, 4],
      [v6Key, 6],
    ] as const) {
      const raw = unwrap(entry[key]);
      const hasDeps = !inline && (from.propertyDependencies?.[key]?.length ?? 0) > 0;
      if (!(typeof raw === "string" && raw !== "") && !hasDeps) continue;
      const literal = str(raw);
      if (literal) {
        const cidr = parseCidr(literal);
        return { text: literal, cidr, family: cidr?.family ?? family };
      }
      const sres = inline ? undefined : index.ref(from, key, raw, [T.subnet]);
      const subnet = sres ? subnetsByUrn.get(sres.urn) : undefined;
      return {
        text: subnet
          ? `${family === 6 ? "IPv6 block" : "block"} of ${subnet.label}`
          : "(unknown during preview)",
        family,
        subnet,
      };
    }
    return undefined;
  };
  for (const r of ofType(T.route)) {
    const p = bag(r.props);
    const rt = rtOf(r, "routeTableId");
    if (!rt) continue;
    const dest = destOf(r, p, "destinationCidrBlock", "destinationIpv6CidrBlock", false);
    const target = targetOf(r, p, false);
    if (!dest || !target) continue;
    rt.routes.push({
      table: rt,
      dest,
      target,
      source: { res: r, p, urn: r.urn, label: labelOf(r, "route") },
    });
  }
  for (const rt of rts.values()) {
    const r = rt.res;
    if (!r) continue;
    for (const e of arr(rt.p.routes)) {
      const entry = bag(e);
      const dest = destOf(r, entry, "cidrBlock", "ipv6CidrBlock", true);
      const target = targetOf(r, entry, true);
      if (!dest || !target) continue;
      rt.routes.push({ table: rt, dest, target, source: rt });
    }
  }

  // Subnets without an explicit association use their VPC's main route table.
  for (const v of vpcs.values()) {
    if (!v.mainRt) continue;
    for (const s of v.subnets) {
      if (!s.rt && !s.external) {
        s.rt = v.mainRt;
        v.mainRt.subnets.push(s);
      }
    }
  }

  return {
    vpcs: [...vpcs.values()],
    subnets: [...subnetsByUrn.values(), ...subnetsByKey.values()],
    routeTables: [...rts.values()],
    endpoints: [...endpoints.values()].filter((e) => e.vpc.endpoints.includes(e)),
    attachments,
    tgwRouteTables: [...tgwRts.values()],
    tgwVpcs,
    vpcByKey: vpcs,
    index,
  };
}

interface ExternalHints {
  readonly subnets: Map<
    string,
    { az?: string; cidr?: string; ipv6Cidr?: string; routeTableId?: string }
  >;
  readonly vpcCidrs: Map<string, string>;
  /** VPC of each route table the component names (tables of adopted subnets). */
  readonly rtVpcs: Map<string, string>;
}

/**
 * Facts about subnets and VPCs outside the stack (adopted by id) that Tollgate's InspectedVpc
 * component publishes in its outputs: AZ and blocks of each workload subnet, the VPC CIDR.
 */
function externalHints(components: readonly PolicyResource[]): ExternalHints {
  const out: ExternalHints = { subnets: new Map(), vpcCidrs: new Map(), rtVpcs: new Map() };
  for (const c of components) {
    const p = bag(c.props);
    const vpcId = str(p.vpcId);
    const vpcCidr = str(p.vpcCidr);
    if (vpcId && vpcCidr) out.vpcCidrs.set(vpcId, vpcCidr);
    for (const w of arr(p.workloadSubnets)) {
      const b = bag(w);
      const id = str(b.id);
      if (!id) continue;
      const routeTableId = str(b.routeTableId);
      out.subnets.set(id, {
        az: str(b.availabilityZone),
        cidr: str(b.cidr),
        ipv6Cidr: str(b.ipv6Cidr),
        routeTableId,
      });
      if (routeTableId && vpcId) out.rtVpcs.set(routeTableId, vpcId);
    }
  }
  return out;
}

function hasRoleTag(s: SubnetNode): boolean {
  const role = str(bag(s.p.tags)[ROLE_TAG]);
  return role !== undefined && ROLES.has(role);
}

function kindName(k: TargetKind): string {
  switch (k) {
    case "gwlbe":
      return "GWLB endpoint";
    case "vpce":
      return "VPC endpoint";
    case "igw":
      return "internet gateway";
    case "egw":
      return "egress-only internet gateway";
    case "vgw":
      return "virtual private gateway";
    case "nat":
      return "NAT gateway";
    case "tgw":
      return "transit gateway";
    case "eni":
      return "network interface";
    case "peering":
      return "VPC peering connection";
    case "local":
      return "local";
    case "other":
      return "gateway";
    case "unknown":
      return "(unknown during preview)";
  }
}
