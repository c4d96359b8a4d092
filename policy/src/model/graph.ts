/**
 * The state of one topology build: the node maps and the lookups that resolve a resource's reference
 * (by `propertyDependencies` or by id) to a node, creating nodes for resources outside the stack.
 * The per-kind handlers in kinds.ts fill it; `topology()` is the result.
 */
import type { PolicyResource } from "@pulumi/policy/policy";
import { Cidr, parseCidr } from "./cidr";
import type {
  AttachmentNode,
  Node,
  EndpointNode,
  EndpointServiceNode,
  FleetNode,
  GatewayNode,
  ListenerNode,
  LoadBalancerNode,
  TargetGroupNode,
  NatNode,
  RouteTableNode,
  SubnetNode,
  SubnetRole,
  TgwRouteTableNode,
  Topology,
  VpcNode,
} from "./nodes";
import { labelOf, StackIndex } from "./stack-index";
import { T } from "./types";
import { arr, bag, str } from "./values";

const ROLE_TAG = "tollgate:role";
const ROLES: ReadonlySet<string> = new Set([
  "workload",
  "attachment",
  "gwlbe",
  "public",
  "appliance",
]);

/** The role a subnet's `tollgate:role` tag names, if it names a known one. */
export function taggedRole(p: Record<string, unknown>): SubnetRole | undefined {
  const role = str(bag(p.tags)[ROLE_TAG]);
  return role && ROLES.has(role) ? (role as SubnetRole) : undefined;
}

/**
 * Sets a subnet's role from what the stack puts in it (unless a tag fixes the role); with
 * `onlyFrom`, only a subnet still in that role changes.
 */
export function inferRole(s: SubnetNode, role: SubnetRole, onlyFrom?: SubnetRole): void {
  if (taggedRole(s.p)) return;
  if (onlyFrom === undefined || s.role === onlyFrom) s.role = role;
}

/** Facts about an adopted subnet that the InspectedVpc component publishes. */
export interface SubnetHint {
  readonly az?: string;
  readonly cidr?: string;
  readonly ipv6Cidr?: string;
  readonly routeTableId?: string;
}

interface ExternalHints {
  readonly subnets: Map<string, SubnetHint>;
  readonly vpcCidrs: Map<string, string>;
  /** VPC of each route table the component names (tables of adopted subnets). */
  readonly rtVpcs: Map<string, string>;
}

/** A node link of a TGW association, route or propagation. */
export interface TgwLink {
  readonly rt?: TgwRouteTableNode;
  readonly attachment?: AttachmentNode;
}

export class Graph {
  readonly index: StackIndex;
  readonly vpcs = new Map<string, VpcNode>();
  readonly subnetsByUrn = new Map<string, SubnetNode>();
  /** External subnets by id. */
  readonly subnetsByKey = new Map<string, SubnetNode>();
  readonly rts = new Map<string, RouteTableNode>();
  readonly endpoints = new Map<string, EndpointNode>();
  readonly nats = new Map<string, NatNode>();
  readonly igws = new Map<string, GatewayNode>();
  readonly attachments: AttachmentNode[] = [];
  readonly attachmentsByUrn = new Map<string, AttachmentNode>();
  readonly tgwRts = new Map<string, TgwRouteTableNode>();
  readonly tgwVpcs = new Map<string, VpcNode[]>();
  readonly lbs = new Map<string, LoadBalancerNode>();
  readonly services = new Map<string, EndpointServiceNode>();
  readonly targetGroups = new Map<string, TargetGroupNode>();
  readonly listeners: ListenerNode[] = [];
  readonly fleets: FleetNode[] = [];
  readonly fleetsByUrn = new Map<string, FleetNode>();
  /** Fleet registrations whose target group is unknown (a reason not to claim "no fleet"). */
  unresolvedRegistrations = 0;
  /** Listeners whose load balancer is unknown (preview without a dependency). */
  unresolvedListeners = 0;
  /** Subnets an association names whose route table is unknown (they do not use the main table). */
  readonly associatedElsewhere = new Set<SubnetNode>();
  /** CIDRs of the stack's managed prefix lists, by URN. */
  readonly prefixLists = new Map<string, Cidr[]>();
  readonly hints: ExternalHints;
  /** The stack's VPCs by the id of their main (default) route table. */
  readonly vpcByMainRtId = new Map<string, PolicyResource>();
  private readonly byType = new Map<string, PolicyResource[]>();

  constructor(resources: readonly PolicyResource[]) {
    this.index = new StackIndex(resources);
    for (const r of resources) {
      let list = this.byType.get(r.type);
      if (!list) this.byType.set(r.type, (list = []));
      list.push(r);
    }
    this.hints = externalHints(this.ofType(T.inspectedVpc));
    for (const v of this.ofType(T.vpc)) {
      const p = bag(v.props);
      for (const id of [str(p.mainRouteTableId), str(p.defaultRouteTableId)])
        if (id) this.vpcByMainRtId.set(id, v);
    }
  }

  ofType(type: string): readonly PolicyResource[] {
    return this.byType.get(type) ?? [];
  }

  /** The VPC node under `key`, created on first use (from the resource, or a literal id). */
  vpcNode(key: string, res?: PolicyResource, literal?: string): VpcNode {
    const known = this.vpcs.get(key);
    if (known) return known;
    const p = bag(res?.props);
    const cidrs: Cidr[] = [];
    const hinted = literal ? this.hints.vpcCidrs.get(literal) : undefined;
    for (const c of [str(p.cidrBlock), str(p.ipv6CidrBlock), hinted]) {
      const parsed = parseCidr(c);
      if (parsed) cidrs.push(parsed);
    }
    const v: VpcNode = {
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
      routeTables: [],
      flowLogs: [],
    };
    this.vpcs.set(key, v);
    return v;
  }

  /** The VPC a VPC resource, a VPC id literal, or nothing known names (keyed on `from`). */
  vpcFor(from: PolicyResource, res: PolicyResource | undefined, literal: string | undefined) {
    const byId = literal ? this.index.byId.get(literal) : undefined;
    if (!res && byId?.type === T.vpc) res = byId;
    if (res) return this.vpcNode(res.urn, res);
    if (literal) return this.vpcNode(`id:${literal}`, undefined, literal);
    return this.vpcNode(`unknown:${from.urn}`);
  }

  /** The VPC `from.props[prop]` refers to. */
  vpcOf(from: PolicyResource, prop: string): VpcNode {
    const value = bag(from.props)[prop];
    return this.vpcFor(from, this.index.ref(from, prop, value, [T.vpc]), str(value));
  }

  /** The subnet `value` (of `from.props[prop]`) refers to; an unknown id makes an external one. */
  subnetOf(
    from: PolicyResource,
    prop: string,
    value: unknown,
    vpcHint?: VpcNode,
  ): SubnetNode | undefined {
    const res = this.index.ref(from, prop, value, [T.subnet]);
    if (res) return this.subnetsByUrn.get(res.urn);
    const literal = str(value);
    if (!literal) return undefined;
    return this.subnetsByKey.get(literal) ?? this.externalSubnet(literal, vpcHint);
  }

  /** The stack's subnets among `refs` (subnet resources found by reference). */
  subnetsOf(refs: readonly PolicyResource[]): SubnetNode[] {
    const out: SubnetNode[] = [];
    for (const r of refs) {
      const s = this.subnetsByUrn.get(r.urn);
      if (s) out.push(s);
    }
    return out;
  }

  /** A subnet outside the stack, by id, with what the component's hints say about it. */
  externalSubnet(literal: string, vpcHint?: VpcNode): SubnetNode {
    const vpc = vpcHint ?? this.vpcNode(`unknown-subnet-vpc:${literal}`);
    const hint = this.hints.subnets.get(literal);
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
    this.subnetsByKey.set(literal, s);
    vpc.subnets.push(s);
    return s;
  }

  /** A route table outside the stack (an adopted subnet's existing table), by id. */
  externalRt(id: string): RouteTableNode {
    const known = this.rts.get(`id:${id}`);
    if (known) return known;
    const vpcId = this.hints.rtVpcs.get(id);
    const vpcRes = vpcId ? this.index.byId.get(vpcId) : undefined;
    const vpc =
      vpcRes && vpcRes.type === T.vpc
        ? this.vpcNode(vpcRes.urn, vpcRes)
        : vpcId
          ? this.vpcNode(`id:${vpcId}`, undefined, vpcId)
          : this.vpcNode(`unknown-rt-vpc:${id}`);
    const rt: RouteTableNode = {
      p: {},
      id,
      label: `route table ${id} (outside the stack)`,
      vpc,
      routes: [],
      subnets: [],
      edgeGateways: [],
    };
    this.rts.set(`id:${id}`, rt);
    return rt;
  }

  /**
   * The route table `from.props[prop]` refers to: a table of the stack, the main route table of a
   * VPC of the stack (`vpc.mainRouteTableId`/`defaultRouteTableId`), or, for an `rtb-` literal,
   * a table outside the stack.
   */
  rtOf(from: PolicyResource, prop: string): RouteTableNode | undefined {
    const value = bag(from.props)[prop];
    const res = this.index.ref(from, prop, value, [T.routeTable, T.defaultRouteTable]);
    if (res) return this.rts.get(res.urn);
    const literal = str(value);
    const vpcRes =
      (literal ? this.vpcByMainRtId.get(literal) : undefined) ??
      this.index.ref(from, prop, undefined, [T.vpc]);
    if (vpcRes) return this.defaultRtOf(this.vpcNode(vpcRes.urn, vpcRes));
    return literal?.startsWith("rtb-") ? this.externalRt(literal) : undefined;
  }

  /**
   * A VPC's default route table (the main table AWS creates with it): the stack's
   * DefaultRouteTable when it manages it, else a table with the local route only, to which Route
   * resources naming `vpc.mainRouteTableId` add. Undefined for VPCs outside the stack (unknown).
   */
  defaultRtOf(vpc: VpcNode): RouteTableNode | undefined {
    if (vpc.defaultRt || !vpc.res) return vpc.defaultRt;
    const id = str(vpc.p.mainRouteTableId) ?? str(vpc.p.defaultRouteTableId);
    const rt: RouteTableNode = {
      p: {},
      id,
      label: `main route table of ${vpc.label}${id ? ` (${id})` : ""}`,
      vpc,
      routes: [],
      subnets: [],
      edgeGateways: [],
      implicitMain: true,
    };
    this.rts.set(`main:${vpc.key}`, rt);
    vpc.routeTables.push(rt);
    vpc.defaultRt = rt;
    return rt;
  }

  /** The TGW route table and attachment a TGW association, route or propagation links. */
  tgwLink(r: PolicyResource): TgwLink {
    const p = bag(r.props);
    const rtRes = this.index.ref(r, "transitGatewayRouteTableId", p.transitGatewayRouteTableId, [
      T.tgwRouteTable,
    ]);
    const aRes = this.index.ref(r, "transitGatewayAttachmentId", p.transitGatewayAttachmentId, [
      T.tgwAttachment,
    ]);
    return {
      rt: rtRes ? this.tgwRts.get(rtRes.urn) : undefined,
      attachment: aRes ? this.attachmentsByUrn.get(aRes.urn) : undefined,
    };
  }

  /** Links a subnet to its route table (the association, or the VPC's main table). */
  associate(s: SubnetNode, rt: RouteTableNode, assoc?: Node): void {
    s.rt = rt;
    s.assoc = assoc;
    rt.subnets.push(s);
  }

  topology(): Topology {
    return {
      vpcs: [...this.vpcs.values()],
      subnets: [...this.subnetsByUrn.values(), ...this.subnetsByKey.values()],
      routeTables: [...this.rts.values()],
      endpoints: [...this.endpoints.values()].filter((e) => e.vpc.endpoints.includes(e)),
      attachments: this.attachments,
      tgwRouteTables: [...this.tgwRts.values()],
      tgwVpcs: this.tgwVpcs,
      loadBalancers: [...this.lbs.values()],
      targetGroups: [...this.targetGroups.values()],
      fleets: this.fleets,
      unresolvedListeners: this.unresolvedListeners,
      unresolvedRegistrations: this.unresolvedRegistrations,
      vpcByKey: this.vpcs,
      index: this.index,
    };
  }
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
