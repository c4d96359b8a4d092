/**
 * Configurations every test tier should cover (keys as in Pulumi.dev.yaml without `tollgate:`).
 * Region us-east-1 unless a config says otherwise; the mocks give it six AZs.
 */
export const EXAMPLE_CONFIGS: Record<string, Record<string, unknown>> = {
  /** North-south, 2 AZs, IPv4 only: the defaults. */
  "north-south-2az-ipv4": { "aws:region": "us-east-1", azCount: 2 },
  /** North-south, 3 AZs, dual stack, rules file delivered. */
  "north-south-3az-dualstack": {
    "aws:region": "us-east-1",
    azCount: 3,
    ipv6: true,
    appliance: { rulesFile: "examples/rules/lab.yaml" },
    inspection: { stickiness: "5-tuple", tcpIdleTimeoutSeconds: 600 },
  },
  /** Centralized egress through a TGW only, 2 AZs, two spokes. */
  "egress-2az": {
    "aws:region": "eu-west-1",
    azCount: 2,
    northSouth: { enabled: false },
    egress: {
      enabled: true,
      spokes: [
        { name: "app", cidr: "10.10.0.0/16" },
        { name: "data", cidr: "10.11.0.0/16" },
      ],
    },
  },
  /** Both topologies, 3 AZs, three spokes, rules file, AL2023 fleet of 1-2 per AZ scaling on instance CPU. */
  "both-3az": {
    "aws:region": "eu-west-1",
    azCount: 3,
    appliance: { rulesFile: "examples/rules/default.yaml" },
    fleet: {
      amiFamily: "al2023",
      minSizePerAz: 1,
      maxSizePerAz: 2,
      scaling: { metric: "cpu", targetValue: 30 },
    },
    egress: {
      enabled: true,
      spokes: [
        { name: "app", cidr: "10.10.0.0/16" },
        { name: "data", cidr: "10.11.0.0/16" },
        { name: "shared", cidr: "10.12.0.0/16" },
      ],
    },
  },
  /** Adopt an existing VPC (e.g. from awsx.ec2.Vpc), 2 AZs, IPv4; one subnet keeps its own route table. */
  "adopt-2az-ipv4": {
    "aws:region": "us-east-1",
    azCount: 2,
    northSouth: {
      adopt: {
        vpcId: "vpc-0a1b2c3d4e5f60718",
        internetGatewayId: "igw-0a1b2c3d4e5f60718",
        vpcCidr: "10.50.0.0/16",
        workloadSubnets: [
          { id: "subnet-0aaa0000000000001", cidr: "10.50.0.0/20", availabilityZone: "us-east-1a" },
          {
            id: "subnet-0aaa0000000000002",
            cidr: "10.50.16.0/20",
            availabilityZone: "us-east-1b",
            routeTableId: "rtb-0bbb0000000000002",
          },
        ],
        endpointSubnets: [
          { availabilityZone: "us-east-1a", cidr: "10.50.255.0/28" },
          { availabilityZone: "us-east-1b", cidr: "10.50.255.16/28" },
        ],
      },
    },
  },
  /** Adopt an existing dual-stack VPC across 3 AZs, two workload subnets in the first AZ. */
  "adopt-3az-dualstack": {
    "aws:region": "us-east-1",
    azCount: 3,
    ipv6: true,
    northSouth: {
      adopt: {
        vpcId: "vpc-0c1b2c3d4e5f60718",
        internetGatewayId: "igw-0c1b2c3d4e5f60718",
        vpcCidr: "10.60.0.0/16",
        ipv6CidrBlock: "2600:1f18:abcd:1200::/56",
        workloadSubnets: [
          {
            id: "subnet-0ccc0000000000001",
            cidr: "10.60.0.0/20",
            ipv6Cidr: "2600:1f18:abcd:1200::/64",
            availabilityZone: "us-east-1a",
          },
          {
            id: "subnet-0ccc0000000000004",
            cidr: "10.60.64.0/20",
            ipv6Cidr: "2600:1f18:abcd:1203::/64",
            availabilityZone: "us-east-1a",
          },
          {
            id: "subnet-0ccc0000000000002",
            cidr: "10.60.16.0/20",
            ipv6Cidr: "2600:1f18:abcd:1201::/64",
            availabilityZone: "us-east-1b",
          },
          {
            id: "subnet-0ccc0000000000003",
            cidr: "10.60.32.0/20",
            ipv6Cidr: "2600:1f18:abcd:1202::/64",
            availabilityZone: "us-east-1c",
          },
        ],
        endpointSubnets: [
          {
            availabilityZone: "us-east-1a",
            cidr: "10.60.255.0/28",
            ipv6Cidr: "2600:1f18:abcd:12f0::/64",
          },
          {
            availabilityZone: "us-east-1b",
            cidr: "10.60.255.16/28",
            ipv6Cidr: "2600:1f18:abcd:12f1::/64",
          },
          {
            availabilityZone: "us-east-1c",
            cidr: "10.60.255.32/28",
            ipv6Cidr: "2600:1f18:abcd:12f2::/64",
          },
        ],
      },
    },
  },
};

/** A config with `spokes` spoke VPCs across `azCount` AZs and both topologies (for benchmarks). */
export function manySpokesConfig(spokes: number, azCount = 3): Record<string, unknown> {
  return {
    "aws:region": "us-east-1",
    azCount,
    egress: {
      enabled: true,
      spokes: Array.from({ length: spokes }, (_, i) => ({
        name: `spoke${i + 1}`,
        cidr: `10.${i + 1}.0.0/16`,
      })),
    },
    northSouth: { vpcCidr: "172.16.0.0/16" },
  };
}
