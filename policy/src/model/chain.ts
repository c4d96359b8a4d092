/**
 * The backing chain of GWLB endpoints (endpoint -> endpoint service -> Gateway Load Balancer ->
 * listener -> target group -> registered fleet), VPC flow logs and managed prefix lists: the
 * per-kind handlers the build table in kinds.ts runs for them.
 */
import type { PolicyResource } from "@pulumi/policy/policy";
import { Cidr, parseCidr } from "./cidr";
import type { Graph } from "./graph";
import type * as N from "./nodes";
import { labelOf } from "./stack-index";
import { T } from "./types";
import { arr, bag, bool, isUnknown, num, str, unwrap } from "./values";

const STICKY = new Set(["source_ip_dest_ip", "source_ip_dest_ip_proto"]);

/** Known AZs of `subnets`, or undefined when one is unknown (or there are fewer than `count`). */
function azsOf(subnets: readonly N.SubnetNode[], count: number): string[] | undefined {
  if (subnets.length < count || subnets.some((s) => s.az === undefined)) return undefined;
  return [...new Set(subnets.map((s) => s.az as string))];
}

/** The subnets a list property names (stack subnets by reference, others by id). */
function subnetList(g: Graph, r: PolicyResource, prop: string, values: unknown[]): N.SubnetNode[] {
  const stack = g.subnetsOf(g.index.refs(r, prop, values, [T.subnet]));
  if (stack.length >= values.length) return stack;
  const out = [...stack];
  for (const v of values) {
    const id = str(v);
    const hit = id ? g.index.byId.get(id) : undefined;
    if (id && !hit) {
      const s = g.subnetOf(r, prop, v);
      if (s) out.push(s);
    }
  }
  return out;
}

/** Number of entries of a list property, counting an unknown list as unknown (-1). */
function listLength(v: unknown): number {
  const u = unwrap(v);
  return Array.isArray(u) ? u.length : isUnknown(u) ? -1 : 0;
}

export function addLoadBalancer(g: Graph, r: PolicyResource): void {
  const p = bag(r.props);
  if (str(p.loadBalancerType) !== "gateway") return;
  const mapped = arr(p.subnetMappings).map((m) => bag(m).subnetId);
  const direct = arr(p.subnets);
  const subnets = [
    ...subnetList(g, r, "subnets", direct),
    ...subnetList(g, r, "subnetMappings", mapped),
  ];
  const known = listLength(p.subnets) >= 0 && listLength(p.subnetMappings) >= 0;
  const crossZone = unwrap(p.enableCrossZoneLoadBalancing);
  g.lbs.set(r.urn, {
    res: r,
    p,
    id: str(p.arn),
    urn: r.urn,
    label: `GWLB "${r.name}"`,
    subnets,
    azs: known ? azsOf(subnets, direct.length + mapped.length) : undefined,
    crossZone: crossZone === undefined ? false : bool(crossZone),
    listeners: [],
  });
}

export function addTargetGroup(g: Graph, r: PolicyResource): void {
  const p = bag(r.props);
  const st = bag(p.stickiness);
  const type = str(st.type);
  const enabled = bool(st.enabled);
  g.targetGroups.set(r.urn, {
    res: r,
    p,
    id: str(p.arn),
    urn: r.urn,
    label: labelOf(r, "target group", ""),
    fleets: [],
    listeners: [],
    stickiness: enabled !== false && type && STICKY.has(type) ? type : undefined,
    crossZoneOn: str(p.loadBalancingCrossZoneEnabled) === "true",
  });
}

export function addListener(g: Graph, r: PolicyResource): void {
  const p = bag(r.props);
  const lbRes = g.index.ref(r, "loadBalancerArn", p.loadBalancerArn, [T.lb]);
  const lb = lbRes ? g.lbs.get(lbRes.urn) : undefined;
  if (!lb) {
    if (!lbRes && !str(p.loadBalancerArn)) g.unresolvedListeners++;
    return;
  }
  const actions = arr(p.defaultActions).map(bag);
  const arns = actions.flatMap((a) => [
    a.targetGroupArn,
    ...arr(bag(a.forward).targetGroups).map((t) => bag(t).arn),
  ]);
  const declared = arns.filter((a) => unwrap(a) !== undefined && unwrap(a) !== "");
  const tgs = g.index
    .refs(r, "defaultActions", declared, [T.targetGroup])
    .map((t) => g.targetGroups.get(t.urn))
    .filter((t): t is N.TargetGroupNode => t !== undefined);
  const l: N.ListenerNode = {
    res: r,
    p,
    urn: r.urn,
    label: labelOf(r, "listener", ""),
    targetGroups: tgs,
    targetsOutside: tgs.length === 0 || tgs.length < declared.length,
  };
  lb.listeners.push(l);
  g.listeners.push(l);
  for (const tg of tgs) tg.listeners.push(l);
}

/** A fleet node (Auto Scaling group or attached instance) registered in the given groups. */
function fleet(
  g: Graph,
  r: PolicyResource,
  subnets: N.SubnetNode[],
  azs: string[] | undefined,
  empty: boolean,
): N.FleetNode {
  const f: N.FleetNode = {
    res: r,
    p: bag(r.props),
    urn: r.urn,
    label: labelOf(r, r.type === T.asg ? "Auto Scaling group" : "target", ""),
    subnets,
    azs,
    empty,
    targetGroups: [],
    targetsUnresolved: false,
  };
  g.fleets.push(f);
  g.fleetsByUrn.set(r.urn, f);
  return f;
}

/** Registers `f` in the target groups `values` name (by reference or id). */
function register(
  g: Graph,
  f: N.FleetNode,
  r: PolicyResource,
  prop: string,
  values: unknown[],
): void {
  const tgs = g.index.refs(r, prop, values, [T.targetGroup]);
  for (const t of tgs) {
    const tg = g.targetGroups.get(t.urn);
    if (tg && !f.targetGroups.includes(tg)) {
      f.targetGroups.push(tg);
      tg.fleets.push(f);
    }
  }
  const literalOutside = values.filter((v) => str(v) && !g.index.byId.has(str(v) as string));
  if (tgs.length + literalOutside.length < values.length) {
    (f as { targetsUnresolved: boolean }).targetsUnresolved = true;
    g.unresolvedRegistrations++;
  }
}

export function addAutoScalingGroup(g: Graph, r: PolicyResource): void {
  const p = bag(r.props);
  const ids = arr(p.vpcZoneIdentifiers);
  const subnets = subnetList(g, r, "vpcZoneIdentifiers", ids);
  const zones = arr(p.availabilityZones)
    .map(str)
    .filter((z): z is string => z !== undefined);
  const azs =
    ids.length > 0 && listLength(p.vpcZoneIdentifiers) >= 0
      ? azsOf(subnets, ids.length)
      : zones.length > 0
        ? zones
        : undefined;
  const f = fleet(g, r, subnets, azs, num(p.maxSize) === 0);
  const tgArns = unwrap(p.targetGroupArns);
  if (isUnknown(tgArns)) {
    (f as { targetsUnresolved: boolean }).targetsUnresolved = true;
    g.unresolvedRegistrations++;
  } else register(g, f, r, "targetGroupArns", arr(tgArns));
}

/** Auto Scaling attachments, traffic sources and target group attachments (instances, IPs). */
export function addFleetRegistration(g: Graph, r: PolicyResource): void {
  const p = bag(r.props);
  if (r.type === T.targetGroupAttachment) {
    const target = g.index.ref(r, "targetId", p.targetId, [T.instance]);
    const tp = bag(target?.props);
    const subnet = target ? g.subnetOf(target, "subnetId", tp.subnetId) : undefined;
    const az = str(p.availabilityZone) ?? str(tp.availabilityZone) ?? subnet?.az;
    const f = fleet(g, r, subnet ? [subnet] : [], az ? [az] : undefined, false);
    register(g, f, r, "targetGroupArn", [p.targetGroupArn]);
    return;
  }
  const asg = g.index.ref(r, "autoscalingGroupName", p.autoscalingGroupName, [T.asg]);
  const f = asg ? g.fleetsByUrn.get(asg.urn) : undefined;
  const prop = r.type === T.asgAttachment ? "lbTargetGroupArn" : "trafficSource";
  const value = r.type === T.asgAttachment ? p.lbTargetGroupArn : bag(p.trafficSource).identifier;
  if (!f) {
    if (!str(p.autoscalingGroupName)) g.unresolvedRegistrations++;
    return;
  }
  register(g, f, r, prop, [value]);
}

/** Endpoint -> endpoint service -> Gateway Load Balancer(s), once every load balancer is known. */
export function linkEndpointServices(g: Graph): void {
  for (const e of g.endpoints.values()) {
    const r = e.res;
    if (!r || str(e.p.vpcEndpointType) !== "GatewayLoadBalancer") continue;
    const svcRes = g.index.ref(r, "serviceName", e.p.serviceName, [T.vpceService]);
    if (!svcRes) continue;
    let svc = g.services.get(svcRes.urn);
    if (!svc) {
      const sp = bag(svcRes.props);
      const arns = arr(sp.gatewayLoadBalancerArns);
      const lbs = g.index
        .refs(svcRes, "gatewayLoadBalancerArns", arns, [T.lb])
        .map((l) => g.lbs.get(l.urn))
        .filter((l): l is N.LoadBalancerNode => l !== undefined);
      svc = {
        res: svcRes,
        p: sp,
        urn: svcRes.urn,
        label: labelOf(svcRes, "endpoint service", ""),
        lbs,
        lbsOutside:
          lbs.length < Math.max(arns.length, 1) || isUnknown(unwrap(sp.gatewayLoadBalancerArns)),
      };
      g.services.set(svcRes.urn, svc);
    }
    e.service = svc;
    e.gwlb = svc.lbs[0];
  }
}

export function addFlowLog(g: Graph, r: PolicyResource): void {
  const p = bag(r.props);
  const hasVpc = str(p.vpcId) !== undefined || (r.propertyDependencies?.vpcId?.length ?? 0) > 0;
  if (!hasVpc) return;
  g.vpcOf(r, "vpcId").flowLogs.push({ res: r, p, urn: r.urn, label: labelOf(r, "flow log", "") });
}

export function addPrefixList(g: Graph, r: PolicyResource): void {
  const p = bag(r.props);
  const raw = unwrap(p.entries);
  if (!Array.isArray(raw)) {
    if (raw === undefined) g.prefixLists.set(r.urn, []);
    return; // unknown entries: the list is not walked
  }
  const cidrs = raw.map((e) => parseCidr(str(bag(e).cidr)));
  if (cidrs.every((c): c is Cidr => c !== undefined)) g.prefixLists.set(r.urn, cidrs);
}

export function addPrefixListEntry(g: Graph, r: PolicyResource): void {
  const p = bag(r.props);
  const list = g.index.ref(r, "prefixListId", p.prefixListId, [T.prefixList]);
  if (!list) return;
  const cidr = parseCidr(str(p.cidr));
  const known = g.prefixLists.get(list.urn);
  if (!cidr) g.prefixLists.delete(list.urn);
  else known?.push(cidr);
}
