/** Node types of the routing model (built by topology.ts with the per-kind steps of kinds.ts). */
import type { PolicyResource } from "@pulumi/policy/policy";
import type { Cidr } from "./cidr";
import type { StackIndex } from "./stack-index";
import type { Bag } from "./values";

export type SubnetRole = "workload" | "attachment" | "gwlbe" | "public" | "appliance";

export interface Node {
  readonly res?: PolicyResource;
  readonly p: Bag;
  /** Known cloud id (or the literal id of a resource outside the stack). */
  readonly id?: string;
  /** Human label naming the resource: `subnet "name" (subnet-123)`. */
  readonly label: string;
  /** URN to report a violation against (undefined for resources outside the stack). */
  readonly urn?: string;
}

export interface VpcNode extends Node {
  readonly key: string;
  readonly cidrs: Cidr[];
  readonly subnets: SubnetNode[];
  readonly endpoints: EndpointNode[];
  readonly igws: GatewayNode[];
  readonly attachments: AttachmentNode[];
  readonly natGateways: NatNode[];
  /** The VPC's route tables (declared in the stack, or its implicit main table). */
  readonly routeTables: RouteTableNode[];
  /** The current main route table (a MainRouteTableAssociation's table, else `defaultRt`). */
  mainRt?: RouteTableNode;
  /** The route table AWS created with the VPC (its DefaultRouteTable, or an implicit node). */
  defaultRt?: RouteTableNode;
  /** VPC flow logs the stack declares for the VPC (aws.ec2.FlowLog with vpcId). */
  readonly flowLogs: Node[];
}

export interface SubnetNode extends Node {
  readonly vpc: VpcNode;
  readonly az?: string;
  readonly cidr?: Cidr;
  readonly ipv6?: Cidr;
  /** True when the subnet has IPv6 (even if the block itself is unknown during preview). */
  readonly hasIpv6: boolean;
  readonly external: boolean;
  role: SubnetRole;
  rt?: RouteTableNode;
  /** The RouteTableAssociation linking the subnet to `rt` (undefined: the VPC's main table). */
  assoc?: Node;
  readonly endpoints: EndpointNode[];
  readonly natGateways: NatNode[];
}

export interface RouteTableNode extends Node {
  readonly vpc: VpcNode;
  /** The VPC's own main route table (not declared as a resource: AWS creates it, local route only). */
  readonly implicitMain?: boolean;
  readonly routes: RouteEntry[];
  readonly subnets: SubnetNode[];
  readonly edgeGateways: GatewayNode[];
}

export type TargetKind =
  | "local"
  | "gwlbe"
  | "vpce"
  | "igw"
  | "egw"
  | "vgw"
  | "nat"
  | "tgw"
  | "eni"
  | "peering"
  | "other"
  /** The lookup cannot be decided: a destination is unknown during preview. */
  | "unknown";

export interface Target {
  readonly kind: TargetKind;
  readonly node?: Node;
  readonly label: string;
}

export interface Dest {
  readonly text: string;
  readonly cidr?: Cidr;
  readonly family?: 4 | 6;
  /** Destination given by reference to a subnet's block (unknown value during preview). */
  readonly subnet?: SubnetNode;
  readonly prefixList?: string;
  /** The CIDRs of a prefix list the stack defines (undefined: not known to the pack). */
  readonly entries?: readonly Cidr[];
}

export interface RouteEntry {
  readonly table: RouteTableNode;
  readonly dest: Dest;
  readonly target: Target;
  /** The Route resource, or the RouteTable for inline routes. */
  readonly source: Node;
}

export interface EndpointNode extends Node {
  readonly vpc: VpcNode;
  readonly subnet?: SubnetNode;
  readonly az?: string;
  /** The Gateway Load Balancer behind the endpoint's service, when the stack declares it. */
  gwlb?: LoadBalancerNode;
  /** The endpoint service the endpoint connects to, when the stack declares it. */
  service?: EndpointServiceNode;
}

/** A VPC endpoint service (the GWLB's PrivateLink service). */
export interface EndpointServiceNode extends Node {
  readonly lbs: LoadBalancerNode[];
  /** Some `gatewayLoadBalancerArns` entry is not a load balancer of the stack (or unknown). */
  readonly lbsOutside: boolean;
}

/** A Gateway Load Balancer with its listeners, subnets and cross-zone setting. */
export interface LoadBalancerNode extends Node {
  readonly subnets: SubnetNode[];
  /** AZs the load balancer spans; undefined when one of its subnets' AZ is unknown. */
  readonly azs?: readonly string[];
  /** `enableCrossZoneLoadBalancing` (GWLB default false); undefined while unknown. */
  readonly crossZone?: boolean;
  readonly listeners: ListenerNode[];
}

export interface ListenerNode extends Node {
  readonly targetGroups: TargetGroupNode[];
  /** Some forward target is not a target group of the stack (or unknown). */
  readonly targetsOutside: boolean;
}

export interface TargetGroupNode extends Node {
  readonly fleets: FleetNode[];
  readonly listeners: ListenerNode[];
  /** 2- or 3-tuple stickiness type when enabled (undefined: 5-tuple). */
  readonly stickiness?: string;
  /** `loadBalancingCrossZoneEnabled: "true"` on the target group. */
  readonly crossZoneOn: boolean;
}

/** Appliances registered in target groups: an Auto Scaling group or a target group attachment. */
export interface FleetNode extends Node {
  readonly subnets: SubnetNode[];
  /** AZs the fleet places appliances in; undefined when unknown. */
  readonly azs?: readonly string[];
  /** Known to hold no appliance (maxSize 0). */
  readonly empty: boolean;
  readonly targetGroups: TargetGroupNode[];
  /** Some registration of the fleet could not be resolved (unknown during preview or outside). */
  readonly targetsUnresolved: boolean;
}

export interface NatNode extends Node {
  readonly subnet?: SubnetNode;
  readonly az?: string;
}

export interface GatewayNode extends Node {
  readonly vpc?: VpcNode;
  edgeRt?: RouteTableNode;
}

export interface AttachmentNode extends Node {
  readonly vpc: VpcNode;
  readonly subnets: SubnetNode[];
  readonly applianceMode?: string;
  readonly tgwKey: string;
  /** The Transit Gateway route table the attachment is associated with. */
  tgwRt?: TgwRouteTableNode;
}

/** A Transit Gateway route table: static routes and routes propagated from attachments. */
export interface TgwRouteTableNode extends Node {
  readonly routes: TgwRouteEntry[];
}

export interface TgwRouteEntry {
  readonly dest: Dest;
  /** Undefined for a blackhole route (or a target outside the stack). */
  readonly attachment?: AttachmentNode;
  readonly propagated: boolean;
}

export interface Topology {
  readonly vpcs: VpcNode[];
  readonly subnets: SubnetNode[];
  readonly routeTables: RouteTableNode[];
  readonly endpoints: EndpointNode[];
  readonly attachments: AttachmentNode[];
  readonly tgwRouteTables: TgwRouteTableNode[];
  readonly loadBalancers: LoadBalancerNode[];
  readonly targetGroups: TargetGroupNode[];
  readonly fleets: FleetNode[];
  /** Listeners whose load balancer could not be resolved (a reason not to claim "no listener"). */
  readonly unresolvedListeners: number;
  /** Fleet registrations whose target group could not be resolved. */
  readonly unresolvedRegistrations: number;
  /** VPC CIDRs attached to each Transit Gateway (keyed by TGW key), for spoke detection. */
  readonly tgwVpcs: Map<string, VpcNode[]>;
  /** VPCs by key (the Vpc resource URN, or `id:<vpc-id>` for VPCs outside the stack). */
  readonly vpcByKey: ReadonlyMap<string, VpcNode>;
  readonly index: StackIndex;
}
