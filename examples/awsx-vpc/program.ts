/**
 * Adds Tollgate north-south inspection to an existing VPC of the same program, in one deploy: the
 * appliance fleet behind a Gateway Load Balancer (Inspection), its endpoint service, and
 * InspectedVpc adopting the VPC with ids that are still Outputs. The VPC's isolated subnets become
 * the inspected workload subnets (workloads there need a public IPv4 address or a public load
 * balancer to be reachable): Tollgate adds `0.0.0.0/0 -> GWLB endpoint` to their existing route
 * tables, creates one endpoint subnet per AZ in free space of the VPC (endpoint route table
 * `0.0.0.0/0 -> internet gateway`) and an edge route table on the internet gateway that sends each
 * workload subnet's return traffic through its AZ's endpoint. The VPC must not have other subnets
 * routing to the internet gateway directly: the policy pack reports them as uninspected paths.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
  ApplianceDelivery,
  ArtifactSource,
  AwsContext,
  EndpointService,
  InspectedVpc,
  Inspection,
} from "@tollgate/components";
import { awsxStyleVpc } from "./vpc";

export interface ExampleOptions {
  /** Region, account and partition (look them up with `lookupRegionFacts()`). */
  readonly aws: AwsContext;
  /** Two AZs of the region. */
  readonly availabilityZones: readonly [string, string];
  /** The appliance release and rules file; default: built from the Tollgate checkout in the working directory. */
  readonly artifacts?: ArtifactSource;
}

export function inspectAwsxVpc(o: ExampleOptions): Record<string, pulumi.Input<unknown>> {
  const azs = [...o.availabilityZones];
  const vpcCidr = "10.60.0.0/16";
  const vpc = awsxStyleVpc("app", {
    cidrBlock: vpcCidr,
    availabilityZones: azs,
    isolatedCidrs: ["10.60.128.0/20", "10.60.144.0/20"],
  });

  // The VPC's way out (awsx creates one only with public subnets, which would bypass inspection).
  const igw = new aws.ec2.InternetGateway("app-igw", { vpcId: vpc.vpcId, tags: { Name: "app" } });

  const delivery = new ApplianceDelivery("tollgate-delivery", { artifacts: o.artifacts });
  const inspection = new Inspection("tollgate-inspection", {
    availabilityZones: azs,
    aws: o.aws,
    artifacts: delivery.fleetArtifacts(),
  });
  const service = new EndpointService("tollgate-endpoint-service", {
    accountId: o.aws.accountId,
    partition: o.aws.partition,
    gatewayLoadBalancerArn: inspection.gatewayLoadBalancerArn,
  });
  const inspected = new InspectedVpc("app-inspected", {
    availabilityZones: azs,
    endpointService: service.ref(),
    aws: o.aws,
    adopt: {
      vpcId: vpc.vpcId,
      internetGatewayId: igw.id,
      vpcCidr,
      workloadSubnets: azs.map((az, i) => ({
        id: vpc.isolatedSubnetIds.apply((ids) => ids[i]!),
        routeTableId: vpc.isolatedRouteTableIds.apply((ids) => ids[i]!),
        cidr: ["10.60.128.0/20", "10.60.144.0/20"][i]!,
        availabilityZone: az,
      })),
      endpointSubnets: azs.map((az, i) => ({
        availabilityZone: az,
        cidr: ["10.60.255.0/28", "10.60.255.16/28"][i]!,
      })),
    },
  });
  return {
    vpcId: vpc.vpcId,
    gatewayLoadBalancerArn: inspection.gatewayLoadBalancerArn,
    endpointServiceName: service.serviceName,
    endpointIds: inspected.endpointIds,
    inspectedSubnets: inspected.workloadSubnets,
  };
}
