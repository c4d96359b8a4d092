import { createHash } from "crypto";
import type * as pulumi from "@pulumi/pulumi";
import { knownAzs } from "@tollgate/components";

/** Fixed facts the mocks answer with. */
export interface MockFacts {
  readonly region: string;
  readonly accountId: string;
  readonly partition: string;
}

/**
 * AZ letters the mocks answer with where they differ from the offline table
 * (components/regions.ts): us-west-1 shows an account two of its three names.
 */
export const MOCK_REGION_AZS: Readonly<Record<string, readonly string[]>> = {
  "us-west-1": ["a", "c"],
};

/** The AZs `aws.getAvailabilityZones` answers with under the mocks (none for an unknown region). */
export function regionAzs(region: string): string[] {
  const letters = MOCK_REGION_AZS[region];
  return letters !== undefined ? letters.map((s) => `${region}${s}`) : (knownAzs(region) ?? []);
}

function hex(seed: string, n: number): string {
  return createHash("sha1").update(seed).digest("hex").slice(0, n);
}

const ID_PREFIX: Readonly<Record<string, string>> = {
  "aws:ec2/vpc:Vpc": "vpc-",
  "aws:ec2/subnet:Subnet": "subnet-",
  "aws:ec2/routeTable:RouteTable": "rtb-",
  "aws:ec2/routeTableAssociation:RouteTableAssociation": "rtbassoc-",
  "aws:ec2/internetGateway:InternetGateway": "igw-",
  "aws:ec2/natGateway:NatGateway": "nat-",
  "aws:ec2/eip:Eip": "eipalloc-",
  "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce-",
  "aws:ec2/vpcEndpointService:VpcEndpointService": "vpce-svc-",
  "aws:ec2/securityGroup:SecurityGroup": "sg-",
  "aws:ec2/launchTemplate:LaunchTemplate": "lt-",
  "aws:ec2/flowLog:FlowLog": "fl-",
  "aws:ec2transitgateway/transitGateway:TransitGateway": "tgw-",
  "aws:ec2transitgateway/vpcAttachment:VpcAttachment": "tgw-attach-",
  "aws:ec2transitgateway/routeTable:RouteTable": "tgw-rtb-",
};

function resourceName(args: pulumi.runtime.MockResourceArgs): string {
  return typeof args.inputs?.name === "string"
    ? args.inputs.name
    : `${args.name}-${hex(args.name, 7)}`;
}

/**
 * Realistic id and output state for a mocked resource: AWS-shaped ids (`vpc-…`, `subnet-…`,
 * `tgw-attach-…`), ARNs and the computed attributes Tollgate reads. Deterministic per name.
 */
export function mockResource(
  args: pulumi.runtime.MockResourceArgs,
  facts: MockFacts,
): { id: string; state: Record<string, unknown> } {
  const { type, inputs } = args;
  const seed = `${type}::${args.name}`;
  const h17 = hex(seed, 17);
  const acct = facts.accountId;
  const reg = facts.region;
  const pa = facts.partition;
  const state: Record<string, unknown> = { ...inputs };
  let id =
    ID_PREFIX[type] !== undefined ? `${ID_PREFIX[type]}${h17}` : `${args.name}-${hex(seed, 8)}`;
  const ec2Arn = (kind: string): string => `arn:${pa}:ec2:${reg}:${acct}:${kind}/${id}`;
  switch (type) {
    case "aws:ec2/vpc:Vpc":
      state.arn = ec2Arn("vpc");
      state.defaultRouteTableId = `rtb-${hex(seed + "main", 17)}`;
      state.mainRouteTableId = state.defaultRouteTableId;
      state.defaultSecurityGroupId = `sg-${hex(seed + "sg", 17)}`;
      state.ownerId = acct;
      if (inputs.assignGeneratedIpv6CidrBlock) {
        state.ipv6CidrBlock = `2600:1f18:${hex(seed, 4)}:${hex(seed + "6", 2)}00::/56`;
        state.ipv6AssociationId = `vpc-cidr-assoc-${hex(seed + "a", 17)}`;
      }
      break;
    case "aws:ec2/subnet:Subnet":
      state.arn = ec2Arn("subnet");
      state.ownerId = acct;
      break;
    case "aws:ec2/routeTable:RouteTable":
      state.arn = ec2Arn("route-table");
      state.ownerId = acct;
      break;
    case "aws:ec2/internetGateway:InternetGateway":
      state.arn = ec2Arn("internet-gateway");
      break;
    case "aws:ec2/eip:Eip":
      state.allocationId = id;
      state.publicIp = `203.0.113.${parseInt(hex(seed, 2), 16) % 250}`;
      break;
    case "aws:ec2/natGateway:NatGateway":
      state.privateIp = "10.0.0.10";
      break;
    case "aws:ec2/vpcEndpoint:VpcEndpoint":
      state.arn = ec2Arn("vpc-endpoint");
      state.state = "available";
      state.ownerId = acct;
      break;
    case "aws:ec2/vpcEndpointService:VpcEndpointService":
      state.arn = ec2Arn("vpc-endpoint-service");
      state.serviceName = `com.amazonaws.vpce.${reg}.${id}`;
      state.serviceType = "GatewayLoadBalancer";
      state.state = "Available";
      break;
    case "aws:ec2/vpcEndpointConnectionAccepter:VpcEndpointConnectionAccepter":
      id = `${inputs.vpcEndpointServiceId}_${inputs.vpcEndpointId}`;
      state.vpcEndpointState = "available";
      break;
    case "aws:ec2/securityGroup:SecurityGroup":
      state.arn = ec2Arn("security-group");
      state.name = resourceName(args);
      break;
    case "aws:ec2/flowLog:FlowLog":
      state.arn = ec2Arn("vpc-flow-log");
      break;
    case "aws:ec2/launchTemplate:LaunchTemplate":
      state.arn = ec2Arn("launch-template");
      state.latestVersion = 1;
      state.defaultVersion = 1;
      break;
    case "aws:ec2transitgateway/transitGateway:TransitGateway":
      state.arn = ec2Arn("transit-gateway");
      state.associationDefaultRouteTableId = `tgw-rtb-${hex(seed + "d", 17)}`;
      state.propagationDefaultRouteTableId = state.associationDefaultRouteTableId;
      state.ownerId = acct;
      break;
    case "aws:ec2transitgateway/vpcAttachment:VpcAttachment":
      state.arn = ec2Arn("transit-gateway-attachment");
      state.vpcOwnerId = acct;
      break;
    case "aws:ec2transitgateway/routeTable:RouteTable":
      state.arn = ec2Arn("transit-gateway-route-table");
      break;
    case "aws:ec2/route:Route":
      id = `r-${inputs.routeTableId}${hex(String(inputs.destinationCidrBlock ?? inputs.destinationIpv6CidrBlock), 10)}`;
      state.state = "active";
      break;
    case "aws:lb/loadBalancer:LoadBalancer": {
      const n = resourceName(args).slice(0, 32);
      id = `arn:${pa}:elasticloadbalancing:${reg}:${acct}:loadbalancer/gwy/${n}/${hex(seed, 16)}`;
      state.arn = id;
      state.name = n;
      state.arnSuffix = id.split(":loadbalancer/")[1];
      break;
    }
    case "aws:lb/targetGroup:TargetGroup": {
      const n = resourceName(args).slice(0, 32);
      id = `arn:${pa}:elasticloadbalancing:${reg}:${acct}:targetgroup/${n}/${hex(seed, 16)}`;
      state.arn = id;
      state.name = n;
      state.arnSuffix = `targetgroup/${n}/${hex(seed, 16)}`;
      break;
    }
    case "aws:lb/listener:Listener":
      id = `arn:${pa}:elasticloadbalancing:${reg}:${acct}:listener/gwy/${args.name}/${hex(seed, 16)}/${hex(seed + "l", 16)}`;
      state.arn = id;
      break;
    case "aws:s3/bucket:Bucket": {
      const b = typeof inputs.bucket === "string" ? inputs.bucket : `${args.name}-${hex(seed, 7)}`;
      id = b;
      state.bucket = b;
      state.arn = `arn:${pa}:s3:::${b}`;
      state.bucketDomainName = `${b}.s3.amazonaws.com`;
      state.region = reg;
      break;
    }
    case "aws:s3/bucketObjectv2:BucketObjectv2":
      id = String(inputs.key);
      state.arn = `arn:${pa}:s3:::${inputs.bucket}/${inputs.key}`;
      state.etag = hex(seed, 32);
      state.versionId = hex(seed + "v", 32);
      break;
    case "aws:iam/role:Role": {
      const n = resourceName(args);
      id = n;
      state.name = n;
      state.arn = `arn:${pa}:iam::${acct}:role/${n}`;
      state.uniqueId = `AROA${hex(seed, 17).toUpperCase()}`;
      break;
    }
    case "aws:iam/instanceProfile:InstanceProfile": {
      const n = resourceName(args);
      id = n;
      state.name = n;
      state.arn = `arn:${pa}:iam::${acct}:instance-profile/${n}`;
      break;
    }
    case "aws:iam/rolePolicy:RolePolicy":
      id = `${inputs.role}:${args.name}`;
      state.name = args.name;
      break;
    case "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
      id = `${inputs.role}-${hex(seed, 20)}`;
      break;
    case "aws:cloudwatch/logGroup:LogGroup": {
      const n = resourceName(args);
      id = n;
      state.name = n;
      state.arn = `arn:${pa}:logs:${reg}:${acct}:log-group:${n}`;
      break;
    }
    case "aws:autoscaling/group:Group": {
      const n = resourceName(args);
      id = n;
      state.name = n;
      state.arn = `arn:${pa}:autoscaling:${reg}:${acct}:autoScalingGroup:${hex(seed, 8)}-${hex(seed, 4)}:autoScalingGroupName/${n}`;
      break;
    }
    case "aws:autoscaling/policy:Policy":
      id = args.name;
      state.name = args.name;
      state.arn = `arn:${pa}:autoscaling:${reg}:${acct}:scalingPolicy:${hex(seed, 8)}:autoScalingGroupName/${inputs.autoscalingGroupName}:policyName/${args.name}`;
      break;
    default:
      break;
  }
  state.id = id;
  if (Array.isArray(inputs.tags) === false && inputs.tags !== undefined)
    state.tagsAll = inputs.tags;
  return { id, state };
}

/** Answers provider function calls (invokes) the program makes. */
export function mockCall(
  args: pulumi.runtime.MockCallArgs,
  facts: MockFacts,
): Record<string, unknown> {
  switch (args.token) {
    case "aws:index/getAvailabilityZones:getAvailabilityZones": {
      const names = regionAzs(facts.region);
      return {
        names,
        zoneIds: names.map((_, i) => `use1-az${i + 1}`),
        region: facts.region,
        id: facts.region,
        groupNames: names,
      };
    }
    case "aws:index/getCallerIdentity:getCallerIdentity":
      return {
        accountId: facts.accountId,
        arn: `arn:${facts.partition}:iam::${facts.accountId}:user/tollgate`,
        userId: "AIDAEXAMPLE",
        id: facts.accountId,
      };
    case "aws:index/getPartition:getPartition":
      return {
        partition: facts.partition,
        dnsSuffix: "amazonaws.com",
        id: facts.partition,
        reverseDnsPrefix: "com.amazonaws",
      };
    case "aws:index/getRegion:getRegion":
      return {
        name: facts.region,
        region: facts.region,
        id: facts.region,
        endpoint: `ec2.${facts.region}.amazonaws.com`,
        description: facts.region,
      };
    case "aws:ec2/getAmi:getAmi":
      return {
        id: `ami-${hex(JSON.stringify(args.inputs), 17)}`,
        imageId: `ami-${hex(JSON.stringify(args.inputs), 17)}`,
        name: "mocked-image",
        architecture: "x86_64",
      };
    default:
      return {};
  }
}
