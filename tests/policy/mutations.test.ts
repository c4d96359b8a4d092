/**
 * Mutation suite: each case breaks one thing in a captured Tollgate deployment and expects the
 * intended policy to report it, naming the resource (by URN or in the message). Every case runs on
 * the exported state (ids known) and on a preview-like copy where every id is unknown.
 */
import assert from "node:assert/strict";
import {
  addPrefixListRoute,
  addResource,
  addRoute,
  captured,
  check,
  DeploymentV3,
  ResourceV3,
  relink,
  remove,
  res,
  retarget,
  setProp,
  show,
  unknownComputed,
  unknownIds,
} from "./helpers";

const NS = "north-south-3az-dualstack";
const EG = "egress-2az";

interface Case {
  readonly name: string;
  readonly base: string;
  readonly policy: string;
  /** Must appear in the violation's resource name or message. */
  readonly names: string;
  readonly mutate: (d: DeploymentV3) => void;
  /** Text the message must contain (e.g. a hop of the path). */
  readonly text?: RegExp;
  /** The resource the violation must be attached to: the one whose change fixes it. */
  readonly blame?: string;
  /** Enforcement level of the policy (default mandatory). */
  readonly level?: "advisory";
}

const policyDoc = (d: DeploymentV3): { Statement: Record<string, unknown>[] } =>
  JSON.parse(String(res(d, "tollgate-inspection-appliance-policy").inputs.policy));
const setDoc = (d: DeploymentV3, stmt: Record<string, unknown>): void => {
  const doc = policyDoc(d);
  doc.Statement.push(stmt);
  setProp(res(d, "tollgate-inspection-appliance-policy"), "policy", JSON.stringify(doc));
};
const patch = (
  d: DeploymentV3,
  name: string,
  key: string,
  f: (v: Record<string, unknown>) => void,
): void => {
  const r = res(d, name);
  const v = structuredClone(r.inputs[key] ?? {}) as Record<string, unknown>;
  f(v);
  setProp(r, key, v);
};
const patchList = (
  d: DeploymentV3,
  name: string,
  key: string,
  f: (v: Record<string, unknown>[]) => void,
): void => {
  const r = res(d, name);
  const v = structuredClone(r.inputs[key] ?? []) as Record<string, unknown>[];
  f(v);
  setProp(r, key, v);
};

/** A new gateway (`aws:ec2/<kind>`) attached to the named VPC. */
const gatewayIn = (d: DeploymentV3, vpcName: string, kind: string): ResourceV3 => {
  const vpc = res(d, vpcName);
  return addResource(d, vpc, `aws:ec2/${kind}`, `${vpcName}-new-gw`, {}, { vpcId: { res: vpc } });
};

/** Takes Auto Scaling groups out of every target group. */
const deregister = (d: DeploymentV3, ...asgs: string[]): void => {
  for (const name of asgs) {
    const asg = res(d, name);
    setProp(asg, "targetGroupArns", []);
    delete asg.propertyDependencies?.targetGroupArns;
  }
};

const CASES: Case[] = [
  // Routing: inspected subnets' default routes.
  {
    name: "workload default route goes straight to the internet gateway",
    base: NS,
    policy: "tollgate-routing-default-via-endpoint",
    names: "tollgate-ns-workload-default-us-east-1a",
    blame: "tollgate-ns-workload-default-us-east-1a",
    mutate: (d) =>
      retarget(
        res(d, "tollgate-ns-workload-default-us-east-1a"),
        "gatewayId",
        res(d, "tollgate-ns-igw"),
      ),
  },
  {
    name: "workload default route uses the other AZ's endpoint",
    base: NS,
    policy: "tollgate-routing-default-via-endpoint",
    names: "tollgate-ns-workload-default-us-east-1a",
    text: /us-east-1b/,
    mutate: (d) =>
      retarget(
        res(d, "tollgate-ns-workload-default-us-east-1a"),
        "vpcEndpointId",
        res(d, "tollgate-ns-gwlbe-us-east-1b"),
      ),
  },
  {
    name: "workload IPv6 default route bypasses the endpoint",
    base: NS,
    policy: "tollgate-routing-default-via-endpoint",
    names: "tollgate-ns-workload-default6-us-east-1b",
    mutate: (d) =>
      retarget(
        res(d, "tollgate-ns-workload-default6-us-east-1b"),
        "gatewayId",
        res(d, "tollgate-ns-igw"),
      ),
  },
  {
    name: "workload IPv6 default route missing",
    base: NS,
    policy: "tollgate-routing-default-via-endpoint",
    names: "tollgate-ns-workload-us-east-1c",
    text: /::\/0/,
    mutate: (d) => remove(d, "tollgate-ns-workload-default6-us-east-1c"),
  },
  {
    name: "workload subnet associated with the endpoint route table",
    base: NS,
    policy: "tollgate-routing-default-via-endpoint",
    names: "tollgate-ns-workload-us-east-1b",
    blame: "tollgate-ns-workload-rta-us-east-1b",
    text: /route table association "tollgate-ns-workload-rta-us-east-1b"[\s\S]*"tollgate-ns-endpoint-rt-us-east-1b"/,
    mutate: (d) => {
      const a = res(d, "tollgate-ns-workload-rta-us-east-1b");
      const rt = res(d, "tollgate-ns-endpoint-rt-us-east-1b");
      setProp(a, "routeTableId", rt.id);
      a.propertyDependencies = { ...a.propertyDependencies, routeTableId: [rt.urn] };
    },
  },
  {
    name: "an AZ without a GWLB endpoint",
    base: NS,
    policy: "tollgate-routing-az-coverage",
    names: "tollgate-ns-workload-us-east-1c",
    mutate: (d) => remove(d, "tollgate-ns-gwlbe-us-east-1c"),
  },
  // Routing: IGW edge route table.
  {
    name: "edge route returns a subnet's replies through the other AZ's endpoint",
    base: NS,
    policy: "tollgate-routing-edge-table",
    names: "tollgate-ns-igw-edge-us-east-1a",
    mutate: (d) =>
      retarget(
        res(d, "tollgate-ns-igw-edge-us-east-1a"),
        "vpcEndpointId",
        res(d, "tollgate-ns-gwlbe-us-east-1b"),
      ),
  },
  {
    name: "edge route for one subnet missing",
    base: NS,
    policy: "tollgate-routing-edge-table",
    names: "tollgate-ns-workload-us-east-1b",
    blame: "tollgate-ns-igw-edge-rt",
    mutate: (d) => remove(d, "tollgate-ns-igw-edge-us-east-1b"),
  },
  {
    name: "edge route to a target AWS does not allow (NAT gateway)",
    base: NS,
    policy: "tollgate-routing-edge-table",
    names: "tollgate-ns-igw-edge-us-east-1c",
    mutate: (d) =>
      retarget(res(d, "tollgate-ns-igw-edge-us-east-1c"), "gatewayId", res(d, "tollgate-ns-igw")),
  },
  {
    name: "edge route with a partial subnet CIDR",
    base: NS,
    policy: "tollgate-routing-edge-table",
    names: "tollgate-ns-igw-edge-us-east-1a",
    text: /10\.1\.0\.0\/25/,
    mutate: (d) =>
      setProp(res(d, "tollgate-ns-igw-edge-us-east-1a"), "destinationCidrBlock", "10.1.0.0/25"),
  },
  {
    name: "IGW edge association removed",
    base: NS,
    policy: "tollgate-routing-edge-table",
    names: "tollgate-ns-igw",
    mutate: (d) => remove(d, "tollgate-ns-igw-edge-rta"),
  },
  // Routing: endpoint subnet loop.
  {
    name: "endpoint subnet default route points back into a GWLB endpoint",
    base: NS,
    policy: "tollgate-routing-endpoint-subnet-no-loop",
    names: "tollgate-ns-endpoint-default-us-east-1a",
    mutate: (d) =>
      retarget(
        res(d, "tollgate-ns-endpoint-default-us-east-1a"),
        "vpcEndpointId",
        res(d, "tollgate-ns-gwlbe-us-east-1a"),
      ),
  },
  // Follow the packet.
  {
    name: "a more specific route from a workload subnet skips inspection",
    base: NS,
    policy: "tollgate-routing-follow-the-packet",
    names: "tollgate-ns-workload-us-east-1a",
    blame: "tollgate-ns-bypass",
    text: /1\. subnet "tollgate-ns-workload-us-east-1a"[\s\S]*exit: internet gateway "tollgate-ns-igw"/,
    mutate: (d) =>
      addRoute(
        d,
        "tollgate-ns-bypass",
        res(d, "tollgate-ns-workload-rt-us-east-1a"),
        { destinationCidrBlock: "198.51.100.0/24" },
        "gatewayId",
        res(d, "tollgate-ns-igw"),
      ),
  },
  {
    name: "replies return through a different endpoint",
    base: NS,
    policy: "tollgate-routing-follow-the-packet",
    names: "tollgate-ns-workload-us-east-1b",
    blame: "tollgate-ns-igw-edge-us-east-1b",
    text: /return path[\s\S]*tollgate-ns-gwlbe-us-east-1c/,
    mutate: (d) =>
      retarget(
        res(d, "tollgate-ns-igw-edge-us-east-1b"),
        "vpcEndpointId",
        res(d, "tollgate-ns-gwlbe-us-east-1c"),
      ),
  },
  {
    name: "outbound crosses AZs through the endpoint subnet",
    base: NS,
    policy: "tollgate-routing-follow-the-packet",
    names: "tollgate-ns-workload-us-east-1c",
    text: /tollgate-ns-gwlbe-us-east-1a/,
    mutate: (d) =>
      retarget(
        res(d, "tollgate-ns-workload-default-us-east-1c"),
        "vpcEndpointId",
        res(d, "tollgate-ns-gwlbe-us-east-1a"),
      ),
  },
  // Routing: centralized egress through the TGW.
  {
    name: "TGW attachment to the inspection VPC without appliance mode",
    base: EG,
    policy: "tollgate-routing-appliance-mode",
    names: "tollgate-egress-hub-attach",
    mutate: (d) => setProp(res(d, "tollgate-egress-hub-attach"), "applianceModeSupport", "disable"),
  },
  {
    name: "TGW attachment with appliance mode unset",
    base: EG,
    policy: "tollgate-routing-appliance-mode",
    names: "tollgate-egress-hub-attach",
    mutate: (d) => setProp(res(d, "tollgate-egress-hub-attach"), "applianceModeSupport", undefined),
  },
  {
    name: "attachment subnet default route goes to the NAT gateway (skips inspection)",
    base: EG,
    policy: "tollgate-routing-follow-the-packet",
    names: "tollgate-egress-attachment-eu-west-1a",
    blame: "tollgate-egress-attachment-default-eu-west-1a",
    text: /without passing a GWLB endpoint/,
    mutate: (d) =>
      retarget(
        res(d, "tollgate-egress-attachment-default-eu-west-1a"),
        "natGatewayId",
        res(d, "tollgate-egress-nat-eu-west-1a"),
      ),
  },
  {
    name: "egress endpoint subnet default route goes to the IGW instead of the NAT gateway",
    base: EG,
    policy: "tollgate-routing-egress-tgw",
    names: "tollgate-egress-endpoint-default-eu-west-1b",
    mutate: (d) =>
      retarget(
        res(d, "tollgate-egress-endpoint-default-eu-west-1b"),
        "gatewayId",
        res(d, "tollgate-egress-hub-igw"),
      ),
  },
  {
    name: "egress endpoint subnet default route uses the other AZ's NAT gateway",
    base: EG,
    policy: "tollgate-routing-egress-tgw",
    names: "tollgate-egress-endpoint-default-eu-west-1a",
    text: /eu-west-1b/,
    mutate: (d) =>
      retarget(
        res(d, "tollgate-egress-endpoint-default-eu-west-1a"),
        "natGatewayId",
        res(d, "tollgate-egress-nat-eu-west-1b"),
      ),
  },
  {
    name: "NAT subnet sends spoke replies straight to the TGW",
    base: EG,
    policy: "tollgate-routing-egress-tgw",
    names: "tollgate-egress-public-app-eu-west-1a",
    mutate: (d) =>
      retarget(
        res(d, "tollgate-egress-public-app-eu-west-1a"),
        "transitGatewayId",
        res(d, "tollgate-egress-tgw"),
      ),
  },
  {
    name: "NAT subnet sends spoke replies to the other AZ's endpoint",
    base: EG,
    policy: "tollgate-routing-egress-tgw",
    names: "tollgate-egress-public-data-eu-west-1b",
    text: /eu-west-1a/,
    mutate: (d) =>
      retarget(
        res(d, "tollgate-egress-public-data-eu-west-1b"),
        "vpcEndpointId",
        res(d, "tollgate-egress-gwlbe-eu-west-1a"),
      ),
  },
  {
    name: "endpoint subnet sends a spoke's traffic to the NAT gateway instead of the TGW",
    base: EG,
    policy: "tollgate-routing-egress-tgw",
    names: "tollgate-egress-endpoint-app-eu-west-1a",
    mutate: (d) =>
      retarget(
        res(d, "tollgate-egress-endpoint-app-eu-west-1a"),
        "natGatewayId",
        res(d, "tollgate-egress-nat-eu-west-1a"),
      ),
  },
  // Blame the resource to change: the association, the added route, the fleet...
  {
    name: "workload subnet associated with the other AZ's workload route table",
    base: NS,
    policy: "tollgate-routing-default-via-endpoint",
    names: "tollgate-ns-workload-us-east-1a",
    blame: "tollgate-ns-workload-rta-us-east-1a",
    text: /associates subnet "tollgate-ns-workload-us-east-1a"[\s\S]*with route table "tollgate-ns-workload-rt-us-east-1b"[\s\S]*with route table "tollgate-ns-workload-rt-us-east-1a" .*instead/,
    mutate: (d) =>
      relink(
        res(d, "tollgate-ns-workload-rta-us-east-1a"),
        "routeTableId",
        res(d, "tollgate-ns-workload-rt-us-east-1b"),
      ),
  },
  {
    name: "workload subnet on the other AZ's table: the walk blames the association too",
    base: NS,
    policy: "tollgate-routing-follow-the-packet",
    names: "tollgate-ns-workload-us-east-1c",
    blame: "tollgate-ns-workload-rta-us-east-1c",
    text: /crosses|is in us-east-1a, the packet is in us-east-1c/,
    mutate: (d) =>
      relink(
        res(d, "tollgate-ns-workload-rta-us-east-1c"),
        "routeTableId",
        res(d, "tollgate-ns-workload-rt-us-east-1a"),
      ),
  },
  {
    name: "0.0.0.0/1 to the internet gateway bypasses the endpoint",
    base: NS,
    policy: "tollgate-routing-follow-the-packet",
    names: "tollgate-ns-workload-us-east-1b",
    blame: "tollgate-ns-half-internet",
    text: /0\.0\.0\.0\/1[\s\S]*exit: internet gateway "tollgate-ns-igw"[\s\S]*to fix: change route "tollgate-ns-half-internet"/,
    mutate: (d) =>
      addRoute(
        d,
        "tollgate-ns-half-internet",
        res(d, "tollgate-ns-workload-rt-us-east-1b"),
        { destinationCidrBlock: "0.0.0.0/1" },
        "gatewayId",
        res(d, "tollgate-ns-igw"),
      ),
  },
  {
    name: "IPv6 ::/1 to the internet gateway bypasses the endpoint",
    base: NS,
    policy: "tollgate-routing-follow-the-packet",
    names: "tollgate-ns-workload-us-east-1c",
    blame: "tollgate-ns-half-internet6",
    text: /::\/1/,
    mutate: (d) =>
      addRoute(
        d,
        "tollgate-ns-half-internet6",
        res(d, "tollgate-ns-workload-rt-us-east-1c"),
        { destinationIpv6CidrBlock: "::/1" },
        "gatewayId",
        res(d, "tollgate-ns-igw"),
      ),
  },
  {
    name: "endpoint subnet associated with the workload route table (loop): the association",
    base: NS,
    policy: "tollgate-routing-endpoint-subnet-no-loop",
    names: "tollgate-ns-endpoint-us-east-1a",
    blame: "tollgate-ns-endpoint-rta-us-east-1a",
    mutate: (d) =>
      relink(
        res(d, "tollgate-ns-endpoint-rta-us-east-1a"),
        "routeTableId",
        res(d, "tollgate-ns-workload-rt-us-east-1a"),
      ),
  },
  {
    name: "egress endpoint subnet associated with the other AZ's endpoint route table",
    base: EG,
    policy: "tollgate-routing-egress-tgw",
    names: "tollgate-egress-endpoint-eu-west-1a",
    blame: "tollgate-egress-endpoint-rta-eu-west-1a",
    text: /eu-west-1b/,
    mutate: (d) =>
      relink(
        res(d, "tollgate-egress-endpoint-rta-eu-west-1a"),
        "routeTableId",
        res(d, "tollgate-egress-endpoint-rt-eu-west-1b"),
      ),
  },
  // Every path: the VPC's main route table, prefix lists, IPv6, spokes.
  {
    name: "workload subnet without association falls back to a DefaultRouteTable routing to the IGW",
    base: NS,
    policy: "tollgate-routing-default-via-endpoint",
    names: "tollgate-ns-workload-us-east-1a",
    blame: "tollgate-ns-workload-us-east-1a",
    text: /no route table association[\s\S]*RouteTableAssociation/,
    mutate: (d) => {
      remove(d, "tollgate-ns-workload-rta-us-east-1a");
      const vpc = res(d, "tollgate-ns-vpc");
      const igw = res(d, "tollgate-ns-igw");
      const main = addResource(
        d,
        vpc,
        "aws:ec2/defaultRouteTable:DefaultRouteTable",
        "tollgate-ns-main-rt",
        { routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }] },
        { defaultRouteTableId: { res: vpc } },
      );
      setProp(main, "defaultRouteTableId", vpc.outputs.defaultRouteTableId);
      main.propertyDependencies = { defaultRouteTableId: [vpc.urn], routes: [igw.urn] };
    },
  },
  {
    name: "a Route added to the VPC's main route table reaches a subnet without association",
    base: NS,
    policy: "tollgate-routing-follow-the-packet",
    names: "tollgate-ns-workload-us-east-1b",
    blame: "tollgate-ns-workload-us-east-1b",
    text: /main route table of vpc "tollgate-ns-vpc"[\s\S]*exit: internet gateway/,
    mutate: (d) => {
      remove(d, "tollgate-ns-workload-rta-us-east-1b");
      const vpc = res(d, "tollgate-ns-vpc");
      const r = addResource(
        d,
        vpc,
        "aws:ec2/route:Route",
        "tollgate-ns-main-default",
        { destinationCidrBlock: "0.0.0.0/0" },
        { gatewayId: { res: res(d, "tollgate-ns-igw") } },
      );
      setProp(r, "routeTableId", vpc.outputs.mainRouteTableId);
      r.propertyDependencies = { ...r.propertyDependencies, routeTableId: [vpc.urn] };
    },
  },
  {
    name: "a stack-defined prefix list routed to the internet gateway bypasses the endpoint",
    base: NS,
    policy: "tollgate-routing-follow-the-packet",
    names: "tollgate-ns-workload-us-east-1a",
    blame: "tollgate-ns-partners-route",
    text: /198\.51\.100\.0\/24 \(prefix list "tollgate-ns-partners"/,
    mutate: (d) =>
      addPrefixListRoute(
        d,
        "tollgate-ns-partners",
        "198.51.100.0/24",
        res(d, "tollgate-ns-workload-rt-us-east-1a"),
        "gatewayId",
        res(d, "tollgate-ns-igw"),
      ),
  },
  {
    name: "IPv6 egress through an egress-only internet gateway: replies skip inspection",
    base: NS,
    policy: "tollgate-routing-follow-the-packet",
    names: "tollgate-ns-workload-us-east-1b",
    blame: "tollgate-ns-endpoint-default6-us-east-1b",
    text: /egress-only internet gateway[\s\S]*takes no edge route table/,
    mutate: (d) =>
      retarget(
        res(d, "tollgate-ns-endpoint-default6-us-east-1b"),
        "egressOnlyGatewayId",
        gatewayIn(d, "tollgate-ns-vpc", "egressOnlyInternetGateway:EgressOnlyInternetGateway"),
      ),
  },
  {
    name: "a spoke's default route leaves through its own internet gateway, not the TGW",
    base: EG,
    policy: "tollgate-routing-follow-the-packet",
    names: "tollgate-egress-spoke-app-workload-eu-west-1a",
    blame: "tollgate-egress-spoke-app-default",
    text: /instead of the Transit Gateway/,
    mutate: (d) =>
      retarget(
        res(d, "tollgate-egress-spoke-app-default"),
        "gatewayId",
        gatewayIn(d, "tollgate-egress-spoke-app-vpc", "internetGateway:InternetGateway"),
      ),
  },
  {
    name: "the TGW spoke route table sends the spokes' default route to another spoke",
    base: EG,
    policy: "tollgate-routing-follow-the-packet",
    names: "tollgate-egress-spoke-app-workload-eu-west-1a",
    blame: "tollgate-egress-tgw-spoke-rt",
    text: /which has no GWLB endpoint/,
    mutate: (d) =>
      relink(
        res(d, "tollgate-egress-tgw-spoke-default"),
        "transitGatewayAttachmentId",
        res(d, "tollgate-egress-spoke-data-attach"),
      ),
  },
  {
    name: "inspection VPC attachment without a subnet in one AZ: spokes of that AZ cross AZs",
    base: EG,
    policy: "tollgate-routing-follow-the-packet",
    names: "tollgate-egress-spoke-app-workload-eu-west-1b",
    blame: "tollgate-egress-hub-attach",
    text: /has no subnet in eu-west-1b/,
    mutate: (d) =>
      relink(
        res(d, "tollgate-egress-hub-attach"),
        "subnetIds",
        res(d, "tollgate-egress-attachment-eu-west-1a"),
        "arns",
      ),
  },
  // The backing chain of the endpoints.
  {
    name: "Gateway Load Balancer without a listener",
    base: NS,
    policy: "tollgate-gwlb-backing-chain",
    names: "tollgate-inspection-gwlb",
    blame: "tollgate-inspection-gwlb",
    text: /tollgate-ns-gwlbe-us-east-1a[\s\S]*has no listener/,
    mutate: (d) => remove(d, "tollgate-inspection-listener"),
  },
  {
    name: "listener forwarding to a target group without appliances (fleets deregistered)",
    base: EG,
    policy: "tollgate-gwlb-backing-chain",
    names: "tollgate-inspection-tg",
    blame: "tollgate-inspection-appliance-asg-eu-west-1a",
    text: /no appliance is registered[\s\S]*targetGroupArns/,
    mutate: (d) =>
      deregister(
        d,
        "tollgate-inspection-appliance-asg-eu-west-1a",
        "tollgate-inspection-appliance-asg-eu-west-1b",
      ),
  },
  {
    name: "listener forwarding to a second, empty target group (the fleet is in the first)",
    base: NS,
    policy: "tollgate-gwlb-backing-chain",
    names: "tollgate-inspection-tg-empty",
    blame: "tollgate-inspection-listener",
    text: /forward listener "tollgate-inspection-listener" to target group "tollgate-inspection-tg"/,
    mutate: (d) => {
      const tg = res(d, "tollgate-inspection-tg");
      const empty = addResource(
        d,
        tg,
        tg.type,
        "tollgate-inspection-tg-empty",
        structuredClone(tg.inputs),
      );
      const l = res(d, "tollgate-inspection-listener");
      const actions = structuredClone(l.outputs.defaultActions) as Record<string, unknown>[];
      for (const a of actions) a.targetGroupArn = empty.outputs.arn;
      setProp(l, "defaultActions", actions);
      l.propertyDependencies = { ...l.propertyDependencies, defaultActions: [empty.urn] };
    },
  },
  {
    name: "every Auto Scaling group in the target group can hold no appliance (maxSize 0)",
    base: EG,
    policy: "tollgate-gwlb-backing-chain",
    names: "tollgate-inspection-tg",
    blame: "tollgate-inspection-appliance-asg-eu-west-1a",
    text: /maxSize 0/,
    mutate: (d) => {
      for (const az of ["eu-west-1a", "eu-west-1b"]) {
        setProp(res(d, `tollgate-inspection-appliance-asg-${az}`), "maxSize", 0);
        setProp(res(d, `tollgate-inspection-appliance-asg-${az}`), "minSize", 0);
      }
    },
  },
  {
    name: "cross-zone off and one AZ's Auto Scaling group placed in another AZ",
    base: EG,
    policy: "tollgate-gwlb-zonal-fleet",
    names: "tollgate-inspection-gwlb",
    blame: "tollgate-inspection-appliance-asg-eu-west-1a",
    text: /spans eu-west-1a with cross-zone load balancing off[\s\S]*tollgate-egress-gwlbe-eu-west-1a/,
    mutate: (d) =>
      relink(
        res(d, "tollgate-inspection-appliance-asg-eu-west-1a"),
        "vpcZoneIdentifiers",
        res(d, "tollgate-inspection-appliance-eu-west-1b"),
        "arns",
      ),
  },
  {
    name: "cross-zone off and one AZ's Auto Scaling group missing",
    base: NS,
    policy: "tollgate-gwlb-zonal-fleet",
    names: "tollgate-inspection-gwlb",
    blame: "tollgate-inspection-gwlb",
    text: /us-east-1c/,
    mutate: (d) => remove(d, "tollgate-inspection-appliance-asg-us-east-1c"),
  },
  {
    name: "cross-zone off and one AZ's Auto Scaling group not registered in the target group",
    base: NS,
    policy: "tollgate-gwlb-zonal-fleet",
    names: "tollgate-inspection-gwlb",
    blame: "tollgate-inspection-appliance-asg-us-east-1b",
    text: /register/,
    mutate: (d) => deregister(d, "tollgate-inspection-appliance-asg-us-east-1b"),
  },
  {
    name: "3-tuple stickiness behind a Transit Gateway attachment with appliance mode",
    base: EG,
    policy: "tollgate-gwlb-stickiness-appliance-mode",
    names: "tollgate-inspection-tg",
    blame: "tollgate-inspection-tg",
    text: /source_ip_dest_ip_proto[\s\S]*tollgate-egress-hub-attach/,
    mutate: (d) =>
      setProp(res(d, "tollgate-inspection-tg"), "stickiness", {
        enabled: true,
        type: "source_ip_dest_ip_proto",
      }),
  },
  // VPC flow logs (advisory).
  {
    name: "inspected VPC without flow logs",
    base: NS,
    policy: "tollgate-vpc-flow-logs",
    level: "advisory",
    names: "tollgate-ns-vpc",
    blame: "tollgate-ns-vpc",
    mutate: (d) => remove(d, "tollgate-ns-vpc-flow-log"),
  },
  {
    name: "flow log format without the endpoint path fields",
    base: EG,
    policy: "tollgate-vpc-flow-logs",
    level: "advisory",
    names: "tollgate-egress-hub-vpc-flow-log",
    blame: "tollgate-egress-hub-vpc-flow-log",
    text: /\$\{traffic-path\}/,
    mutate: (d) =>
      setProp(
        res(d, "tollgate-egress-hub-vpc-flow-log"),
        "logFormat",
        "${version} ${srcaddr} ${dstaddr} ${flow-direction}",
      ),
  },
  // VPC adoption (subnets, VPC and IGW outside the stack, referenced by id).
  {
    name: "adopted subnet's default route sent to the adopted internet gateway",
    base: "adopt-2az-ipv4",
    policy: "tollgate-routing-default-via-endpoint",
    names: "tollgate-ns-workload-default-subnet-0aaa0000000000001",
    mutate: (d) =>
      retarget(
        res(d, "tollgate-ns-workload-default-subnet-0aaa0000000000001"),
        "gatewayId",
        "igw-0a1b2c3d4e5f60718",
      ),
  },
  {
    name: "adopted VPC edge route to a target AWS does not allow",
    base: "adopt-2az-ipv4",
    policy: "tollgate-routing-edge-table",
    names: "tollgate-ns-igw-edge-subnet-0aaa0000000000002",
    mutate: (d) =>
      retarget(
        res(d, "tollgate-ns-igw-edge-subnet-0aaa0000000000002"),
        "gatewayId",
        "igw-0a1b2c3d4e5f60718",
      ),
  },
  // GWLB settings.
  {
    name: "target group not GENEVE",
    base: NS,
    policy: "tollgate-gwlb-target-group-geneve",
    names: "tollgate-inspection-tg",
    mutate: (d) => setProp(res(d, "tollgate-inspection-tg"), "protocol", "UDP"),
  },
  {
    name: "health check on the GENEVE port",
    base: NS,
    policy: "tollgate-gwlb-health-check",
    names: "tollgate-inspection-tg",
    mutate: (d) => patch(d, "tollgate-inspection-tg", "healthCheck", (h) => (h.port = "6081")),
  },
  {
    name: "health check missing",
    base: EG,
    policy: "tollgate-gwlb-health-check",
    names: "tollgate-inspection-tg",
    mutate: (d) => setProp(res(d, "tollgate-inspection-tg"), "healthCheck", undefined),
  },
  {
    name: "target failover values differ",
    base: NS,
    policy: "tollgate-gwlb-target-failover",
    names: "tollgate-inspection-tg",
    mutate: (d) =>
      patchList(
        d,
        "tollgate-inspection-tg",
        "targetFailovers",
        (l) => ((l[0] as Record<string, unknown>).onUnhealthy = "no_rebalance"),
      ),
  },
  {
    name: "target failover uses camelCase noRebalance",
    base: NS,
    policy: "tollgate-gwlb-target-failover",
    names: "tollgate-inspection-tg",
    text: /snake_case/,
    mutate: (d) =>
      setProp(res(d, "tollgate-inspection-tg"), "targetFailovers", [
        { onDeregistration: "noRebalance", onUnhealthy: "noRebalance" },
      ]),
  },
  {
    name: "invalid stickiness type",
    base: NS,
    policy: "tollgate-gwlb-stickiness",
    names: "tollgate-inspection-tg",
    mutate: (d) =>
      setProp(res(d, "tollgate-inspection-tg"), "stickiness", { enabled: true, type: "source_ip" }),
  },
  {
    name: "listener idle timeout below 60 s",
    base: NS,
    policy: "tollgate-gwlb-listener-idle-timeout",
    names: "tollgate-inspection-listener",
    mutate: (d) => setProp(res(d, "tollgate-inspection-listener"), "tcpIdleTimeoutSeconds", 30),
  },
  {
    name: "custom listener idle timeout with 3-tuple stickiness",
    base: EG,
    policy: "tollgate-gwlb-idle-timeout-five-tuple",
    names: "tollgate-inspection-listener",
    text: /source_ip_dest_ip_proto/,
    mutate: (d) =>
      setProp(res(d, "tollgate-inspection-tg"), "stickiness", {
        enabled: true,
        type: "source_ip_dest_ip_proto",
      }),
  },
  // Least privilege.
  {
    name: 'role policy allows Action "*"',
    base: NS,
    policy: "tollgate-iam-no-wildcard-action",
    names: "tollgate-inspection-appliance-policy",
    mutate: (d) => setDoc(d, { Effect: "Allow", Action: "*", Resource: "arn:aws:s3:::x" }),
  },
  {
    name: 'role policy allows "s3:*"',
    base: EG,
    policy: "tollgate-iam-no-wildcard-action",
    names: "tollgate-inspection-appliance-policy",
    mutate: (d) => setDoc(d, { Effect: "Allow", Action: ["s3:*"], Resource: "arn:aws:s3:::x/*" }),
  },
  {
    name: 'ec2:ModifyInstanceAttribute on Resource "*" without a self condition',
    base: NS,
    policy: "tollgate-iam-no-wildcard-resource-mutation",
    names: "tollgate-inspection-appliance-policy",
    text: /ec2:ModifyInstanceAttribute/,
    mutate: (d) =>
      setDoc(d, {
        Sid: "SourceDestCheck",
        Effect: "Allow",
        Action: "ec2:ModifyInstanceAttribute",
        Resource: "*",
      }),
  },
  {
    name: 'iam:PassRole on "*"',
    base: NS,
    policy: "tollgate-iam-no-passrole-wildcard",
    names: "tollgate-inspection-appliance-policy",
    mutate: (d) => setDoc(d, { Effect: "Allow", Action: "iam:PassRole", Resource: "*" }),
  },
  {
    name: "managed policy outside the allow-list",
    base: NS,
    policy: "tollgate-iam-managed-policy-allowlist",
    names: "tollgate-inspection-appliance-ssm",
    text: /AdministratorAccess/,
    mutate: (d) =>
      setProp(
        res(d, "tollgate-inspection-appliance-ssm"),
        "policyArn",
        "arn:aws:iam::aws:policy/AdministratorAccess",
      ),
  },
  // Exposure.
  {
    name: "SSH open to the internet on the appliance security group",
    base: NS,
    policy: "tollgate-exposure-no-open-ingress",
    names: "tollgate-inspection-appliance-sg",
    mutate: (d) =>
      patchList(d, "tollgate-inspection-appliance-sg", "ingress", (l) =>
        l.push({ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/0"] }),
      ),
  },
  {
    name: "IPv6 ingress from ::/0",
    base: EG,
    policy: "tollgate-exposure-no-open-ingress",
    names: "tollgate-inspection-appliance-sg",
    mutate: (d) =>
      patchList(d, "tollgate-inspection-appliance-sg", "ingress", (l) =>
        l.push({ protocol: "udp", fromPort: 6081, toPort: 6081, ipv6CidrBlocks: ["::/0"] }),
      ),
  },
  {
    name: "appliance GENEVE ingress from outside the inspection VPC",
    base: NS,
    policy: "tollgate-exposure-appliance-security-group",
    names: "tollgate-inspection-appliance-sg",
    text: /10\.0\.0\.0\/8/,
    mutate: (d) =>
      patchList(
        d,
        "tollgate-inspection-appliance-sg",
        "ingress",
        (l) => ((l[0] as Record<string, unknown>).cidrBlocks = ["10.0.0.0/8"]),
      ),
  },
  {
    name: "appliance GENEVE ingress from the whole inspection VPC, not only the GWLB subnets",
    base: NS,
    policy: "tollgate-exposure-appliance-security-group",
    names: "tollgate-inspection-appliance-sg",
    text: /allows 10\.100\.0\.0\/16, wider than the Gateway Load Balancer's subnets \(10\.100\.0\.0\/24, /,
    mutate: (d) =>
      patchList(
        d,
        "tollgate-inspection-appliance-sg",
        "ingress",
        (l) => ((l[0] as Record<string, unknown>).cidrBlocks = ["10.100.0.0/16"]),
      ),
  },
  {
    name: "appliance security group accepts an extra port",
    base: EG,
    policy: "tollgate-exposure-appliance-security-group",
    names: "tollgate-inspection-appliance-sg",
    text: /tcp 443/,
    mutate: (d) =>
      patchList(d, "tollgate-inspection-appliance-sg", "ingress", (l) =>
        l.push({ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["10.100.0.0/16"] }),
      ),
  },
  {
    name: "launch template allows IMDSv1",
    base: NS,
    policy: "tollgate-exposure-launch-template-imdsv2",
    names: "tollgate-inspection-appliance-lt",
    mutate: (d) =>
      patch(
        d,
        "tollgate-inspection-appliance-lt",
        "metadataOptions",
        (m) => (m.httpTokens = "optional"),
      ),
  },
  {
    name: "launch template metadata hop limit 2",
    base: NS,
    policy: "tollgate-exposure-launch-template-imdsv2",
    names: "tollgate-inspection-appliance-lt",
    mutate: (d) =>
      patch(
        d,
        "tollgate-inspection-appliance-lt",
        "metadataOptions",
        (m) => (m.httpPutResponseHopLimit = 2),
      ),
  },
  {
    name: "launch template associates a public IP",
    base: NS,
    policy: "tollgate-exposure-launch-template-no-public-ip",
    names: "tollgate-inspection-appliance-lt",
    mutate: (d) =>
      patchList(
        d,
        "tollgate-inspection-appliance-lt",
        "networkInterfaces",
        (l) => ((l[0] as Record<string, unknown>).associatePublicIpAddress = "true"),
      ),
  },
  {
    name: "launch template root volume unencrypted",
    base: NS,
    policy: "tollgate-exposure-launch-template-encrypted-volumes",
    names: "tollgate-inspection-appliance-lt",
    mutate: (d) =>
      patchList(
        d,
        "tollgate-inspection-appliance-lt",
        "blockDeviceMappings",
        (l) =>
          (((l[0] as Record<string, unknown>).ebs as Record<string, unknown>).encrypted = "false"),
      ),
  },
  {
    name: "endpoint service neither requires acceptance nor names principals",
    base: NS,
    policy: "tollgate-exposure-endpoint-service-principals",
    names: "tollgate-endpoint-service-service",
    mutate: (d) => {
      setProp(res(d, "tollgate-endpoint-service-service"), "acceptanceRequired", false);
      setProp(res(d, "tollgate-endpoint-service-service"), "allowedPrincipals", []);
    },
  },
  {
    name: 'endpoint service allows principal "*"',
    base: EG,
    policy: "tollgate-exposure-endpoint-service-principals",
    names: "tollgate-endpoint-service-service",
    mutate: (d) => setProp(res(d, "tollgate-endpoint-service-service"), "allowedPrincipals", ["*"]),
  },
];

describe("policy mutation suite (one mistake per case)", function () {
  this.timeout(120000);

  it("has at least 25 cases, covering every policy of the pack", async () => {
    const { tollgatePolicies } = await import("@tollgate/policy");
    assert.ok(CASES.length >= 25);
    const covered = new Set(CASES.map((c) => c.policy));
    for (const p of tollgatePolicies)
      assert.ok(covered.has(p.name), `no mutation case for ${p.name}`);
  });

  for (const c of CASES) {
    for (const mode of ["exported state", "unknown ids", "unknown computed"] as const) {
      it(`${c.name} -> ${c.policy} (${mode})`, async () => {
        const d = await captured(c.base);
        c.mutate(d);
        const result = await check(
          mode === "unknown ids"
            ? unknownIds(d)
            : mode === "unknown computed"
              ? unknownComputed(d)
              : d,
        );
        const hits = result.violations.filter(
          (v) => v.policyName === c.policy && v.enforcementLevel === (c.level ?? "mandatory"),
        );
        assert.ok(hits.length > 0, `${c.policy} did not fire; got:\n${show(result)}`);
        const named = hits.filter(
          (v) => v.resourceName === c.names || v.detail.includes(`"${c.names}"`),
        );
        assert.ok(
          named.length > 0,
          `${c.policy} fired without naming ${c.names}:\n${show(result)}`,
        );
        if (c.blame) {
          assert.ok(
            hits.some((v) => v.resourceName === c.blame),
            `${c.policy} is not attached to ${c.blame}, the resource to change:\n${show(result)}`,
          );
        }
        if (c.text) {
          const re = c.text;
          assert.ok(
            named.some((v) => re.test(v.detail)),
            `message does not match ${re}:\n${show(result)}`,
          );
        }
        assert.ok(
          !result.violations.some((v) => v.detail.includes("can't be known")),
          `unexpected unknown-value diagnostics:\n${show(result)}`,
        );
      });
    }
  }

  it("a self-conditioned ec2:ModifyInstanceAttribute on * is accepted", async () => {
    const d = await captured(NS);
    setDoc(d, {
      Sid: "SourceDestCheckSelf",
      Effect: "Allow",
      Action: "ec2:ModifyInstanceAttribute",
      Resource: "*",
      Condition: { StringEquals: { "aws:ARN": "${ec2:SourceInstanceARN}" } },
    });
    const result = await check(d);
    assert.equal(result.violations.length, 0, show(result));
  });
});

describe("subnet roles", function () {
  this.timeout(60000);

  it('a "tollgate:role" tag overrides the inferred role (an appliance-tagged subnet is not inspected)', async () => {
    const d = await captured(NS);
    retarget(
      res(d, "tollgate-ns-workload-default-us-east-1a"),
      "gatewayId",
      res(d, "tollgate-ns-igw"),
    );
    const onRoute = (v: { resourceName?: string }): boolean =>
      v.resourceName === "tollgate-ns-workload-default-us-east-1a";
    const before = await check(d);
    assert.ok(before.violations.some(onRoute), show(before));
    const subnet = res(d, "tollgate-ns-workload-us-east-1a");
    setProp(subnet, "tags", {
      ...(subnet.inputs.tags as Record<string, string>),
      "tollgate:role": "appliance",
    });
    const after = await check(d);
    assert.ok(!after.violations.some(onRoute), show(after));
  });
});

describe("VPC adoption with subnets read into the stack", function () {
  this.timeout(60000);

  /** Adds the adopted subnets as read resources (what aws.ec2.Subnet.get records in the state). */
  const withReadSubnets = (d: DeploymentV3): DeploymentV3 => {
    for (const [id, cidr, az] of [
      ["subnet-0aaa0000000000001", "10.50.0.0/20", "us-east-1a"],
      ["subnet-0aaa0000000000002", "10.50.16.0/20", "us-east-1b"],
    ] as const) {
      d.deployment.resources.push({
        urn: `urn:pulumi:dev::tollgate::aws:ec2/subnet:Subnet::adopted-${id}`,
        type: "aws:ec2/subnet:Subnet",
        custom: true,
        id,
        inputs: {},
        outputs: { id, cidrBlock: cidr, availabilityZone: az, vpcId: "vpc-0a1b2c3d4e5f60718" },
      });
    }
    return d;
  };

  it("is clean, and a missing edge route for an adopted subnet is caught with its return path", async () => {
    const d = withReadSubnets(await captured("adopt-2az-ipv4"));
    const clean = await check(d);
    assert.equal(clean.violations.length, 0, show(clean));
    remove(d, "tollgate-ns-igw-edge-subnet-0aaa0000000000001");
    const r = await check(d);
    assert.ok(
      r.violations.some(
        (v) =>
          v.policyName === "tollgate-routing-edge-table" &&
          v.detail.includes('"adopted-subnet-0aaa0000000000001"'),
      ),
      show(r),
    );
    assert.ok(
      r.violations.some(
        (v) =>
          v.policyName === "tollgate-routing-follow-the-packet" &&
          v.resourceName === "tollgate-ns-igw-edge-rt" &&
          v.detail.includes('"adopted-subnet-0aaa0000000000001"') &&
          /-- reply --[\s\S]*to fix: add a route to route table "tollgate-ns-igw-edge-rt"/.test(
            v.detail,
          ),
      ),
      show(r),
    );
  });

  it("a workload subnet created in the stack without an association falls back to the main route table and is reported", async () => {
    const d = await captured(NS);
    remove(d, "tollgate-ns-workload-rta-us-east-1a");
    const r = await check(d);
    assert.ok(
      r.violations.some(
        (v) =>
          v.policyName === "tollgate-routing-default-via-endpoint" &&
          v.resourceName === "tollgate-ns-workload-us-east-1a" &&
          /main route table/.test(v.detail),
      ),
      show(r),
    );
  });
});
