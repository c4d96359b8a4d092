import * as assert from "assert";
import {
  resolveAvailabilityZones,
  resolveDeliveryArgs,
  resolveEgressArgs,
  resolveEndpointServiceArgs,
  AdoptVpcArgs,
  resolveInspectedVpcArgs,
  drainSecondsFor,
  gwlbSubnetCidrs,
  resolveInspectionArgs,
  stickinessAttribute,
  amiFilter,
  resolveFleetArgs,
  resolveTollgate,
} from "@tollgate/components";

const AZ2 = ["us-east-1a", "us-east-1b"];
const AZ3 = ["us-east-1a", "us-east-1b", "us-east-1c"];

/** Asserts fn throws a ConfigError whose whole message is exactly `msg`. */
function throwsExactly(fn: () => unknown, msg: string): void {
  assert.throws(fn, (e: Error) => {
    assert.strictEqual(e.name, "ConfigError");
    assert.strictEqual(e.message, msg);
    return true;
  });
}

describe("resolveAvailabilityZones", () => {
  const region = ["us-west-1a", "us-west-1c"];
  it("defaults to the first 2 AZs of the region", () => {
    assert.deepStrictEqual(resolveAvailabilityZones({}, "us-west-1", region), region);
    assert.deepStrictEqual(resolveAvailabilityZones({ azCount: 1 }, "us-west-1", region), [
      "us-west-1a",
    ]);
  });
  it("rejects an AZ count above the region's list", () => {
    throwsExactly(
      () => resolveAvailabilityZones({ azCount: 3 }, "us-west-1", region),
      "tollgate:azCount: 3 AZs requested but us-west-1 has only 2 (us-west-1a, us-west-1c). Fix: set tollgate:azCount to 2 or less, or deploy to another region.",
    );
  });
  it("rejects non-positive and fractional counts", () => {
    throwsExactly(
      () => resolveAvailabilityZones({ azCount: 0 }, "r", region),
      "tollgate:azCount: 0 is not a whole number of at least 1. Fix: use 2 or 3.",
    );
    throwsExactly(
      () => resolveAvailabilityZones({ azCount: 1.5 }, "r", region),
      "tollgate:azCount: 1.5 is not a whole number of at least 1. Fix: use 2 or 3.",
    );
  });
  it("validates explicit AZ lists", () => {
    assert.deepStrictEqual(
      resolveAvailabilityZones({ availabilityZones: ["us-west-1c"] }, "us-west-1", region),
      ["us-west-1c"],
    );
    throwsExactly(
      () => resolveAvailabilityZones({ availabilityZones: ["us-west-1b"] }, "us-west-1", region),
      "tollgate:availabilityZones[0]: us-west-1b is not an available AZ of us-west-1. Fix: use one of us-west-1a, us-west-1c.",
    );
    throwsExactly(
      () =>
        resolveAvailabilityZones(
          { availabilityZones: ["us-west-1a", "us-west-1a"] },
          "us-west-1",
          region,
        ),
      "tollgate:availabilityZones[1]: us-west-1a is listed twice. Fix: list every AZ once.",
    );
    throwsExactly(
      () => resolveAvailabilityZones({ availabilityZones: [] }, "us-west-1", region),
      "tollgate:availabilityZones: is empty. Fix: list at least one AZ or remove the key to use tollgate:azCount.",
    );
    throwsExactly(
      () =>
        resolveAvailabilityZones(
          { availabilityZones: ["us-west-1a"], azCount: 2 },
          "us-west-1",
          region,
        ),
      "tollgate:azCount: is 2 but tollgate:availabilityZones lists 1. Fix: remove tollgate:azCount or make it match the list.",
    );
  });
});

describe("resolveInspectionArgs", () => {
  it("applies every default", () => {
    const r = resolveInspectionArgs({}, AZ2, false);
    assert.strictEqual(r.vpcCidr.text, "10.100.0.0/16");
    assert.deepStrictEqual(
      r.applianceSubnets.map((c) => c.text),
      ["10.100.0.0/24", "10.100.1.0/24"],
    );
    assert.deepStrictEqual(
      r.publicSubnets.map((c) => c.text),
      ["10.100.8.0/24", "10.100.9.0/24"],
    );
    assert.strictEqual(r.crossZoneLoadBalancing, false);
    assert.strictEqual(r.deletionProtection, false);
    assert.deepStrictEqual(r.healthCheck, {
      port: 8080,
      path: "/healthz",
      intervalSeconds: 10,
      timeoutSeconds: 5,
      healthyThreshold: 3,
      unhealthyThreshold: 3,
    });
    // Drains as long as the TCP idle timeout: every idle-but-open flow ends on its own.
    assert.strictEqual(r.deregistrationDelaySeconds, 350);
    assert.strictEqual(r.stickiness, "5-tuple");
    assert.strictEqual(r.tcpIdleTimeoutSeconds, 350);
    assert.strictEqual(r.targetFailover, "rebalance");
    assert.deepStrictEqual(gwlbSubnetCidrs(r), ["10.100.0.0/24", "10.100.1.0/24"]);
  });
  it("matches the drain time to the longest flow idle timeout, within what AWS allows", () => {
    const drain = (a: Parameters<typeof resolveInspectionArgs>[0]): number =>
      resolveInspectionArgs(a, AZ2, false).deregistrationDelaySeconds;
    assert.strictEqual(drain({ tcpIdleTimeoutSeconds: 600 }), 600);
    // Non-TCP flows idle out after 120 s: a shorter TCP timeout does not shorten the drain.
    assert.strictEqual(drain({ tcpIdleTimeoutSeconds: 60 }), 120);
    // A target group drains at most 3600 s.
    assert.strictEqual(drain({ tcpIdleTimeoutSeconds: 6000 }), 3600);
    // 3-/2-tuple stickiness: the listener keeps AWS's 350 s TCP idle timeout.
    assert.strictEqual(drain({ stickiness: "3-tuple" }), 350);
    // An explicit value wins.
    assert.strictEqual(drain({ deregistrationDelaySeconds: 30 }), 30);
    assert.deepStrictEqual([undefined, 60, 350, 6000].map(drainSecondsFor), [350, 120, 350, 3600]);
  });
  it("maps stickiness to AWS snake_case types", () => {
    assert.deepStrictEqual(stickinessAttribute("5-tuple"), {
      enabled: false,
      type: "source_ip_dest_ip_proto",
    });
    assert.deepStrictEqual(stickinessAttribute("3-tuple"), {
      enabled: true,
      type: "source_ip_dest_ip_proto",
    });
    assert.deepStrictEqual(stickinessAttribute("2-tuple"), {
      enabled: true,
      type: "source_ip_dest_ip",
    });
    assert.strictEqual(
      resolveInspectionArgs({ stickiness: "2-tuple" }, AZ2, false).tcpIdleTimeoutSeconds,
      undefined,
    );
  });
  it("reports every bad value with its key and fix", () => {
    throwsExactly(
      () => resolveInspectionArgs({ vpcCidr: "10.100.0.0" }, AZ2, false),
      'tollgate:inspection.vpcCidr: "10.100.0.0" is not a CIDR block. Fix: use a block such as 10.0.0.0/16.',
    );
    throwsExactly(
      () => resolveInspectionArgs({ healthCheck: { port: 6081 } }, AZ2, false),
      "tollgate:inspection.healthCheck.port: 6081 is the GENEVE data port; the health check must use the appliance's HTTP health port. Fix: use the appliance's health port, e.g. 8080.",
    );
    throwsExactly(
      () => resolveInspectionArgs({ healthCheck: { port: 70000 } }, AZ2, false),
      "tollgate:inspection.healthCheck.port: 70000 is out of range. Fix: use a whole number from 1 to 65535.",
    );
    throwsExactly(
      () => resolveInspectionArgs({ healthCheck: { path: "healthz" } }, AZ2, false),
      'tollgate:inspection.healthCheck.path: "healthz" is not an HTTP path. Fix: start it with /, e.g. /healthz.',
    );
    throwsExactly(
      () =>
        resolveInspectionArgs(
          { healthCheck: { intervalSeconds: 5, timeoutSeconds: 5 } },
          AZ2,
          false,
        ),
      "tollgate:inspection.healthCheck.timeoutSeconds: 5s is not shorter than the 5s interval. Fix: make the timeout smaller than tollgate:inspection.healthCheck.intervalSeconds.",
    );
    throwsExactly(
      () => resolveInspectionArgs({ tcpIdleTimeoutSeconds: 30 }, AZ2, false),
      "tollgate:inspection.tcpIdleTimeoutSeconds: 30 is out of range. Fix: use a whole number from 60 to 6000.",
    );
    throwsExactly(
      () =>
        resolveInspectionArgs({ stickiness: "3-tuple", tcpIdleTimeoutSeconds: 600 }, AZ2, false),
      "tollgate:inspection.tcpIdleTimeoutSeconds: can only be set with 5-tuple stickiness (stickiness is 3-tuple). Fix: remove tcpIdleTimeoutSeconds or set tollgate:inspection.stickiness to 5-tuple.",
    );
    throwsExactly(
      () => resolveInspectionArgs({ deregistrationDelaySeconds: 4000 }, AZ2, false),
      "tollgate:inspection.deregistrationDelaySeconds: 4000 is out of range. Fix: use a whole number from 0 to 3600.",
    );
    throwsExactly(
      () => resolveInspectionArgs({ vpcCidr: "10.0.0.0/24" }, AZ2, false),
      "tollgate:inspection.subnetPrefixLength: 10.0.0.0/24 holds 1 subnets of /24 but 16 are reserved (2 roles x 8 AZ slots). Fix: use a longer prefix (e.g. /28) or a larger tollgate:inspection.vpcCidr.",
    );
    throwsExactly(
      () => resolveInspectionArgs({ subnetPrefixLength: 30 }, AZ2, false),
      "tollgate:inspection.subnetPrefixLength: /30 is not a valid VPC subnet length. Fix: use a value from 16 to 28, e.g. 24.",
    );
  });
});

describe("resolveFleetArgs", () => {
  it("applies every default", () => {
    assert.deepStrictEqual(resolveFleetArgs({}), {
      instanceType: "c6in.large",
      architecture: "x86_64",
      amiFamily: "ubuntu-22.04",
      amiId: undefined,
      minSizePerAz: 1,
      maxSizePerAz: 3,
      desiredCapacityPerAz: 1,
      rootVolumeSizeGiB: 20,
      ebsKmsKeyArn: undefined,
      healthCheckGracePeriodSeconds: 300,
      scaling: { metric: "datapath-cpu", targetValue: 60 },
      logRetentionDays: 30,
      extraApplianceArgs: [],
    });
    assert.strictEqual(resolveFleetArgs({ architecture: "arm64" }).instanceType, "c7gn.large");
    assert.strictEqual(resolveFleetArgs({ minSizePerAz: 6 }).maxSizePerAz, 6);
    assert.strictEqual(resolveFleetArgs({ minSizePerAz: 2 }).desiredCapacityPerAz, 2);
  });
  it("keeps at least one appliance in every AZ, and min <= desired <= max", () => {
    throwsExactly(
      () => resolveFleetArgs({ minSizePerAz: 0 }),
      "tollgate:fleet.minSizePerAz: 0 is out of range. Fix: use a whole number from 1 to 100.",
    );
    throwsExactly(
      () => resolveFleetArgs({ minSizePerAz: 5, maxSizePerAz: 3 }),
      "tollgate:fleet.minSizePerAz: 5 is greater than tollgate:fleet.maxSizePerAz (3). Fix: lower minSizePerAz or raise maxSizePerAz to at least 5.",
    );
    throwsExactly(
      () => resolveFleetArgs({ minSizePerAz: 2, maxSizePerAz: 3, desiredCapacityPerAz: 4 }),
      "tollgate:fleet.desiredCapacityPerAz: 4 is outside 2..3. Fix: pick a value between tollgate:fleet.minSizePerAz and tollgate:fleet.maxSizePerAz.",
    );
  });
  it("has a default target only for the data-path metric; others must say theirs", () => {
    assert.deepStrictEqual(resolveFleetArgs({ scaling: { targetValue: 75 } }).scaling, {
      metric: "datapath-cpu",
      targetValue: 75,
    });
    // Switching metric without a target would silently mean 60 percent of all vCPUs or 60 bytes.
    throwsExactly(
      () => resolveFleetArgs({ scaling: { metric: "network-in" } }),
      "tollgate:fleet.scaling.targetValue: is required with metric network-in (bytes received per instance per minute). Fix: set it explicitly in bytes per instance per minute, at least 1000000, e.g. 3000000000 (about 400 Mbit/s).",
    );
    throwsExactly(
      () => resolveFleetArgs({ scaling: { metric: "cpu" } }),
      "tollgate:fleet.scaling.targetValue: is required with metric cpu (percent of all vCPUs, instance average). Fix: set it explicitly: the data path is one thread, so a saturated data path reads 100/<vCPUs> percent (50 on a 2-vCPU instance); e.g. 30 on c6in.large, or use metric datapath-cpu.",
    );
    throwsExactly(
      () => resolveFleetArgs({ scaling: { metric: "network-in", targetValue: 60 } }),
      "tollgate:fleet.scaling.targetValue: 60 is out of range for network-in (bytes received per instance per minute). Fix: set it explicitly in bytes per instance per minute, at least 1000000, e.g. 3000000000 (about 400 Mbit/s).",
    );
    assert.deepStrictEqual(
      resolveFleetArgs({ scaling: { metric: "cpu", targetValue: 30 } }).scaling,
      { metric: "cpu", targetValue: 30 },
    );
    throwsExactly(
      () => resolveFleetArgs({ scaling: { targetValue: 150 } }),
      "tollgate:fleet.scaling.targetValue: 150 is out of range for datapath-cpu (percent of one core used by the tollgate process). Fix: use a percentage of one core from 1 to 100, e.g. 60.",
    );
    throwsExactly(
      () => resolveFleetArgs({ scaling: { targetValue: 0 } }),
      "tollgate:fleet.scaling.targetValue: 0 is out of range for datapath-cpu (percent of one core used by the tollgate process). Fix: use a percentage of one core from 1 to 100, e.g. 60.",
    );
  });
  it("rejects bad identifiers and values", () => {
    throwsExactly(
      () => resolveFleetArgs({ amiId: "ubuntu" }),
      'tollgate:fleet.amiId: "ubuntu" is not an AMI id. Fix: use an id like ami-0123456789abcdef0 or remove the key to look up the newest image.',
    );
    throwsExactly(
      () => resolveFleetArgs({ instanceType: "big" }),
      'tollgate:fleet.instanceType: "big" is not an EC2 instance type. Fix: use a type such as c6in.large (x86_64) or c7gn.large (arm64).',
    );
    assert.throws(
      () => resolveFleetArgs({ logRetentionDays: 10 }),
      /^ConfigError: tollgate:fleet.logRetentionDays: 10 is not a CloudWatch retention value\. Fix: use one of 1, 3, 5, 7, 14, 30/,
    );
    throwsExactly(
      () => resolveFleetArgs({ ebsKmsKeyArn: "alias/x" }),
      'tollgate:fleet.ebsKmsKeyArn: "alias/x" is not a KMS key ARN. Fix: use arn:aws:kms:<region>:<account>:key/<id>.',
    );
  });
  it("rejects extra appliance arguments the unit would split", () => {
    throwsExactly(
      () => resolveFleetArgs({ extraApplianceArgs: ["--log-level debug"] }),
      'tollgate:fleet.extraApplianceArgs: "--log-level debug" is empty or contains whitespace (the unit splits TOLLGATE_ARGS at whitespace). Fix: give each word separately, e.g. --log-level debug as two items, or use --option=value.',
    );
    assert.deepStrictEqual(
      resolveFleetArgs({ extraApplianceArgs: ["--log-level", "debug"] }).extraApplianceArgs,
      ["--log-level", "debug"],
    );
  });
  it("looks Debian 12 AMIs up in Debian's own account, per architecture", () => {
    assert.deepStrictEqual(amiFilter("debian-12", "x86_64"), {
      owner: "136693071363",
      namePattern: "debian-12-amd64-*",
      rootDevice: "/dev/xvda",
    });
    assert.strictEqual(amiFilter("debian-12", "arm64").namePattern, "debian-12-arm64-*");
  });
  it("looks AMIs up by owner and name pattern", () => {
    assert.deepStrictEqual(amiFilter("ubuntu-22.04", "x86_64"), {
      owner: "099720109477",
      namePattern: "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*",
      rootDevice: "/dev/sda1",
    });
    assert.deepStrictEqual(amiFilter("al2023", "arm64"), {
      owner: "amazon",
      namePattern: "al2023-ami-2023.*-kernel-*-arm64",
      rootDevice: "/dev/xvda",
    });
  });
});

describe("resolveDeliveryArgs", () => {
  it("applies defaults", () => {
    assert.deepStrictEqual(resolveDeliveryArgs({}), {
      packageDir: "appliance",
      rulesFile: "examples/rules/default.yaml",
      bucketKmsKeyArn: undefined,
      forceDestroyBucket: false,
    });
  });
  it("rejects empty paths and bad key ARNs", () => {
    throwsExactly(
      () => resolveDeliveryArgs({ packageDir: " " }),
      'tollgate:appliance.packageDir: is empty. Fix: use the appliance package directory, e.g. "appliance".',
    );
    throwsExactly(
      () => resolveDeliveryArgs({ rulesFile: "" }),
      "tollgate:appliance.rulesFile: is empty. Fix: give the rules file path or remove the key.",
    );
    throwsExactly(
      () => resolveDeliveryArgs({ bucketKmsKeyArn: "arn:aws:kms:us-east-1:1:key/x" }),
      'tollgate:appliance.bucketKmsKeyArn: "arn:aws:kms:us-east-1:1:key/x" is not a KMS key ARN. Fix: use arn:aws:kms:<region>:<account>:key/<key-id>.',
    );
  });
});

describe("resolveEndpointServiceArgs", () => {
  it("defaults to acceptance required and this account only", () => {
    assert.deepStrictEqual(resolveEndpointServiceArgs({}, "123456789012", "aws", false), {
      acceptanceRequired: true,
      allowedPrincipals: ["arn:aws:iam::123456789012:root"],
      ipv6: false,
    });
  });
  it("rejects a bare * and malformed principals", () => {
    throwsExactly(
      () => resolveEndpointServiceArgs({ allowedPrincipals: ["*"] }, "123456789012", "aws", false),
      'tollgate:endpointService.allowedPrincipals[0]: "*" is not an account, role or user ARN. Fix: use e.g. arn:aws:iam::123456789012:root; a bare * would let any AWS account attach endpoints.',
    );
    assert.throws(
      () =>
        resolveEndpointServiceArgs(
          { allowedPrincipals: ["arn:aws:iam::123456789012:root", "123"] },
          "1",
          "aws",
          false,
        ),
      /allowedPrincipals\[1\]: "123" is not/,
    );
    assert.doesNotThrow(() =>
      resolveEndpointServiceArgs(
        { allowedPrincipals: ["arn:aws:iam::210987654321:role/net/ops"] },
        "1",
        "aws",
        false,
      ),
    );
  });
});

describe("resolveInspectedVpcArgs", () => {
  it("plans one workload and one endpoint subnet per AZ", () => {
    const r = resolveInspectedVpcArgs({}, AZ3, false);
    assert.strictEqual(r.mode, "create");
    assert.strictEqual(r.vpcCidr.text, "10.1.0.0/16");
    assert.deepStrictEqual(
      r.azs.map((a) => [a.az, a.workloadSubnets[0]!.cidr.text, a.endpointSubnet.cidr.text]),
      [
        ["us-east-1a", "10.1.0.0/24", "10.1.8.0/24"],
        ["us-east-1b", "10.1.1.0/24", "10.1.9.0/24"],
        ["us-east-1c", "10.1.2.0/24", "10.1.10.0/24"],
      ],
    );
  });
  const base: AdoptVpcArgs = {
    vpcId: "vpc-0a1b",
    internetGatewayId: "igw-0a1b",
    vpcCidr: "10.50.0.0/16",
    workloadSubnets: [{ id: "subnet-01", cidr: "10.50.0.0/20", availabilityZone: "us-east-1a" }],
    endpointSubnets: [{ availabilityZone: "us-east-1a", cidr: "10.50.255.0/28" }],
  };
  const adopt = (a: Partial<AdoptVpcArgs>, ipv6 = false): unknown =>
    resolveInspectedVpcArgs({ adopt: { ...base, ...a } }, AZ2, ipv6);
  it("adopts an existing VPC", () => {
    const r = resolveInspectedVpcArgs({ adopt: base }, AZ2, false);
    assert.strictEqual(r.mode, "adopt");
    assert.strictEqual(r.vpcId, "vpc-0a1b");
    assert.strictEqual(r.azs.length, 1);
  });
  it("reports missing required keys", () => {
    throwsExactly(
      () => adopt({ vpcId: "" }),
      "tollgate:northSouth.adopt.vpcId: is missing. Fix: set it to the VPC id (vpc-...).",
    );
    throwsExactly(
      () => adopt({ internetGatewayId: "" }),
      "tollgate:northSouth.adopt.internetGatewayId: is missing. Fix: set it to the VPC's internet gateway id (igw-...).",
    );
    throwsExactly(
      () => adopt({ workloadSubnets: [] }),
      "tollgate:northSouth.adopt.workloadSubnets: is missing or empty. Fix: list the workload subnets to inspect (id, cidr, availabilityZone).",
    );
    throwsExactly(
      () => adopt({ ipv6CidrBlock: undefined }, true),
      "tollgate:northSouth.adopt.ipv6CidrBlock: is missing. Fix: set it to the VPC's IPv6 block (tollgate:ipv6 is true).",
    );
    throwsExactly(
      () => adopt({ endpointSubnets: [] }),
      "tollgate:northSouth.adopt.endpointSubnets: has no subnet in us-east-1a, where workload subnets subnet-01 live. Fix: add { availabilityZone: us-east-1a, cidr: <free /28> }.",
    );
  });
  it("reports malformed ids, foreign AZs, outside and overlapping CIDRs", () => {
    throwsExactly(
      () => adopt({ vpcId: "my-vpc" }),
      'tollgate:northSouth.adopt.vpcId: "my-vpc" is not a VPC id. Fix: use the id, e.g. vpc-0123456789abcdef0.',
    );
    throwsExactly(
      () => adopt({ internetGatewayId: "nat-1" }),
      'tollgate:northSouth.adopt.internetGatewayId: "nat-1" is not an internet gateway id. Fix: use the id, e.g. igw-0123456789abcdef0.',
    );
    throwsExactly(
      () =>
        adopt({
          workloadSubnets: [
            { id: "subnet-01", cidr: "10.50.0.0/20", availabilityZone: "us-east-1d" },
          ],
        }),
      "tollgate:northSouth.adopt.workloadSubnets[0].availabilityZone: us-east-1d is not one of the stack's AZs (us-east-1a, us-east-1b). Fix: add it to tollgate:availabilityZones or raise tollgate:azCount.",
    );
    throwsExactly(
      () =>
        adopt({
          workloadSubnets: [
            { id: "subnet-01", cidr: "10.51.0.0/20", availabilityZone: "us-east-1a" },
          ],
        }),
      "tollgate:northSouth.adopt.workloadSubnets[0].cidr: 10.51.0.0/20 is outside the VPC's 10.50.0.0/16. Fix: give the subnet's real CIDR.",
    );
    throwsExactly(
      () => adopt({ endpointSubnets: [{ availabilityZone: "us-east-1a", cidr: "10.50.8.0/28" }] }),
      "tollgate:northSouth.adopt.endpointSubnets[0].cidr: 10.50.8.0/28 overlaps 10.50.0.0/20 (tollgate:northSouth.adopt.workloadSubnets[0].cidr). Fix: give every VPC and subnet its own non-overlapping range.",
    );
    throwsExactly(
      () =>
        adopt({
          endpointSubnets: [
            ...base.endpointSubnets,
            { availabilityZone: "us-east-1a", cidr: "10.50.254.0/28" },
          ],
        }),
      "tollgate:northSouth.adopt.endpointSubnets[1].availabilityZone: us-east-1a already has an endpoint subnet. Fix: give one endpoint subnet per AZ.",
    );
    throwsExactly(
      () =>
        adopt({
          workloadSubnets: [
            {
              id: "subnet-01",
              cidr: "10.50.0.0/20",
              availabilityZone: "us-east-1a",
              routeTableId: "main",
            },
          ],
        }),
      'tollgate:northSouth.adopt.workloadSubnets[0].routeTableId: "main" is not a route table id. Fix: use the id, e.g. rtb-0123456789abcdef0, or remove the key.',
    );
  });
  it("requires IPv6 CIDRs in dual stack and checks they are inside the VPC block", () => {
    throwsExactly(
      () => adopt({ ipv6CidrBlock: "2600:1f18:abcd:1200::/56" }, true),
      "tollgate:northSouth.adopt.workloadSubnets[0].ipv6Cidr: is missing. Fix: set it to the subnet's IPv6 /64 (tollgate:ipv6 is true).\n" +
        "tollgate:northSouth.adopt.endpointSubnets[0].ipv6Cidr: is missing. Fix: set it to a free IPv6 /64 of the VPC (tollgate:ipv6 is true).",
    );
    throwsExactly(
      () =>
        adopt(
          {
            ipv6CidrBlock: "2600:1f18:abcd:1200::/56",
            workloadSubnets: [
              {
                id: "subnet-01",
                cidr: "10.50.0.0/20",
                availabilityZone: "us-east-1a",
                ipv6Cidr: "2600:1f18:abcd:1300::/64",
              },
            ],
          },
          true,
        ),
      "tollgate:northSouth.adopt.workloadSubnets[0].ipv6Cidr: 2600:1f18:abcd:1300::/64 is outside the VPC's 2600:1f18:abcd:1200::/56. Fix: give the subnet's real IPv6 CIDR.\n" +
        "tollgate:northSouth.adopt.endpointSubnets[0].ipv6Cidr: is missing. Fix: set it to a free IPv6 /64 of the VPC (tollgate:ipv6 is true).",
    );
  });
});

describe("resolveEgressArgs", () => {
  it("plans hub subnets per AZ and spoke subnets", () => {
    const r = resolveEgressArgs({ spokes: [{ name: "app", cidr: "10.10.0.0/16" }] }, AZ2);
    assert.strictEqual(r.vpcCidr.text, "10.200.0.0/16");
    assert.deepStrictEqual(
      r.attachmentSubnets.map((c) => c.text),
      ["10.200.0.0/24", "10.200.1.0/24"],
    );
    assert.deepStrictEqual(
      r.endpointSubnets.map((c) => c.text),
      ["10.200.8.0/24", "10.200.9.0/24"],
    );
    assert.deepStrictEqual(
      r.publicSubnets.map((c) => c.text),
      ["10.200.16.0/24", "10.200.17.0/24"],
    );
    assert.strictEqual(r.amazonSideAsn, 64512);
    assert.deepStrictEqual(
      r.spokes[0]!.subnets.map((c) => c.text),
      ["10.10.0.0/24", "10.10.1.0/24"],
    );
  });
  it("rejects overlapping spokes, duplicate and bad names, bad ASN", () => {
    throwsExactly(
      () =>
        resolveEgressArgs(
          {
            spokes: [
              { name: "a", cidr: "10.10.0.0/16" },
              { name: "b", cidr: "10.10.128.0/17" },
            ],
          },
          AZ2,
        ),
      "tollgate:egress.spokes[1].cidr: 10.10.128.0/17 overlaps 10.10.0.0/16 (tollgate:egress.spokes[0].cidr). Fix: give every VPC and subnet its own non-overlapping range.",
    );
    throwsExactly(
      () => resolveEgressArgs({ spokes: [{ name: "a", cidr: "10.200.0.0/20" }] }, AZ2),
      "tollgate:egress.spokes[0].cidr: 10.200.0.0/20 overlaps 10.200.0.0/16 (tollgate:egress.vpcCidr). Fix: give every VPC and subnet its own non-overlapping range.",
    );
    throwsExactly(
      () =>
        resolveEgressArgs(
          {
            spokes: [
              { name: "a", cidr: "10.1.0.0/16" },
              { name: "a", cidr: "10.2.0.0/16" },
            ],
          },
          AZ2,
        ),
      "tollgate:egress.spokes[1].name: a is used twice. Fix: give every spoke its own name.",
    );
    throwsExactly(
      () => resolveEgressArgs({ spokes: [{ name: "App_1", cidr: "10.1.0.0/16" }] }, AZ2),
      'tollgate:egress.spokes[0].name: "App_1" is not a valid spoke name. Fix: use lowercase letters, digits and -, at most 31 characters.',
    );
    throwsExactly(
      () => resolveEgressArgs({ spokes: [{ name: "", cidr: "10.1.0.0/16" }] }, AZ2),
      "tollgate:egress.spokes[0].name: is missing. Fix: give the spoke a short name such as app1.",
    );
    throwsExactly(
      () => resolveEgressArgs({ spokes: [{ name: "a" } as never] }, AZ2),
      "tollgate:egress.spokes[0].cidr: is missing. Fix: set the spoke VPC's CIDR, e.g. 10.10.0.0/16.",
    );
    throwsExactly(
      () => resolveEgressArgs({ amazonSideAsn: 65535 }, AZ2),
      "tollgate:egress.amazonSideAsn: 65535 is not a private ASN. Fix: use 64512-65534 or 4200000000-4294967294.",
    );
  });
});

describe("resolveTollgate", () => {
  const facts = {
    region: "eu-west-1",
    accountId: "123456789012",
    partition: "aws",
    availabilityZones: ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
  };
  it("resolves the defaults: north-south on, egress off", () => {
    const r = resolveTollgate({}, facts);
    assert.strictEqual(r.namePrefix, "tollgate");
    assert.deepStrictEqual(r.availabilityZones, ["eu-west-1a", "eu-west-1b"]);
    assert.ok(r.northSouth);
    assert.strictEqual(r.egress, undefined);
  });
  it("rejects a bad name prefix", () => {
    throwsExactly(
      () => resolveTollgate({ namePrefix: "Toll Gate" }, facts),
      'tollgate:namePrefix: "Toll Gate" is not a valid prefix. Fix: use 1-8 lowercase letters, digits or -, starting with a letter.',
    );
  });
  it("keeps the prefix short enough for the 32-character GWLB and target group names", () => {
    const longest = "a".repeat(8);
    assert.strictEqual(resolveTollgate({ namePrefix: longest }, facts).namePrefix, longest);
    // The longest physical name: "<prefix>-inspection-gwlb" plus Pulumi's 8-character suffix.
    assert.ok(`${longest}-inspection-gwlb`.length + 8 <= 32);
    assert.throws(
      () => resolveTollgate({ namePrefix: "a".repeat(9) }, facts),
      /tollgate:namePrefix: "a{9}" is not a valid prefix/,
    );
  });

  it("rejects an AZ count above the region's list before declaring anything", () => {
    assert.throws(
      () => resolveTollgate({ azCount: 4 }, facts),
      /tollgate:azCount: 4 AZs requested but eu-west-1 has only 3/,
    );
  });
});
