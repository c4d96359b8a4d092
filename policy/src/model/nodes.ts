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
  mainRt?: RouteTableNode;
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
  readonly endpoints: EndpointNode[];
  readonly natGateways: NatNode[];
}

export interface RouteTableNode extends Node {
  readonly vpc: VpcNode;
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
  readonly gwlb?: Node;
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
  /** VPC CIDRs attached to each Transit Gateway (keyed by TGW key), for spoke detection. */
  readonly tgwVpcs: Map<string, VpcNode[]>;
  /** VPCs by key (the Vpc resource URN, or `id:<vpc-id>` for VPCs outside the stack). */
  readonly vpcByKey: ReadonlyMap<string, VpcNode>;
  readonly index: StackIndex;
}
