/**
 * Valid variants of the captured topologies that the pack must accept (nothing false), in every
 * preview mode: other ways to register the fleet, cross-zone load balancing, the VPC's main route
 * table, stack-defined prefix lists, links to resources outside the stack.
 */
import assert from "node:assert/strict";
import {
  addPrefixListRoute,
  addResource,
  captured,
  check,
  DeploymentV3,
  relink,
  remove,
  res,
  setProp,
  show,
  unknownComputed,
  unknownIds,
} from "./helpers";

const NS = "north-south-3az-dualstack";
const NS2 = "north-south-2az-ipv4";
const EG = "egress-2az";
const AZS3 = ["us-east-1a", "us-east-1b", "us-east-1c"];

interface Variant {
  readonly name: string;
  readonly base: string;
  readonly mutate: (d: DeploymentV3) => void;
}

const VARIANTS: Variant[] = [
  {
    name: "cross-zone load balancing on, one AZ without its own Auto Scaling group",
    base: NS,
    mutate: (d) => {
      remove(d, "tollgate-inspection-appliance-asg-us-east-1c");
      setProp(res(d, "tollgate-inspection-gwlb"), "enableCrossZoneLoadBalancing", true);
    },
  },
  {
    name: "the fleet registered through aws.autoscaling.Attachment resources",
    base: EG,
    mutate: (d) => {
      const tg = res(d, "tollgate-inspection-tg");
      for (const az of ["eu-west-1a", "eu-west-1b"]) {
        const asg = res(d, `tollgate-inspection-appliance-asg-${az}`);
        setProp(asg, "targetGroupArns", []);
        delete asg.propertyDependencies?.targetGroupArns;
        addResource(
          d,
          asg,
          "aws:autoscaling/attachment:Attachment",
          `attach-${az}`,
          {},
          {
            autoscalingGroupName: { res: asg },
            lbTargetGroupArn: { res: tg, value: "arn" },
          },
        );
      }
    },
  },
  {
    name: "appliances as instances registered with target group attachments",
    base: NS,
    mutate: (d) => {
      const tg = res(d, "tollgate-inspection-tg");
      for (const az of AZS3) {
        const asg = res(d, `tollgate-inspection-appliance-asg-${az}`);
        remove(d, `tollgate-inspection-appliance-asg-${az}`);
        const subnet = res(d, `tollgate-inspection-appliance-${az}`);
        const vm = addResource(
          d,
          asg,
          "aws:ec2/instance:Instance",
          `appliance-${az}`,
          { availabilityZone: az },
          { subnetId: { res: subnet } },
        );
        addResource(
          d,
          asg,
          "aws:lb/targetGroupAttachment:TargetGroupAttachment",
          `tga-${az}`,
          {},
          {
            targetGroupArn: { res: tg, value: "arn" },
            targetId: { res: vm },
          },
        );
      }
    },
  },
  {
    name: "a stack-defined prefix list routed to the same-AZ endpoint",
    base: NS,
    mutate: (d) =>
      addPrefixListRoute(
        d,
        "partners",
        "198.51.100.0/24",
        res(d, "tollgate-ns-workload-rt-us-east-1a"),
        "vpcEndpointId",
        res(d, "tollgate-ns-gwlbe-us-east-1a"),
      ),
  },
  {
    name: "a subnet without association whose VPC's main table is its AZ's workload table",
    base: NS2,
    mutate: (d) => {
      remove(d, "tollgate-ns-workload-rta-us-east-1a");
      const vpc = res(d, "tollgate-ns-vpc");
      addResource(
        d,
        vpc,
        "aws:ec2/mainRouteTableAssociation:MainRouteTableAssociation",
        "main",
        {},
        {
          vpcId: { res: vpc },
          routeTableId: { res: res(d, "tollgate-ns-workload-rt-us-east-1a") },
        },
      );
    },
  },
  {
    name: "3-tuple stickiness without a Transit Gateway (and the default idle timeout)",
    base: NS2,
    mutate: (d) => {
      setProp(res(d, "tollgate-inspection-tg"), "stickiness", {
        enabled: true,
        type: "source_ip_dest_ip_proto",
      });
      setProp(res(d, "tollgate-inspection-listener"), "tcpIdleTimeoutSeconds", undefined);
    },
  },
  {
    name: "a listener forwarding to a target group outside the stack",
    base: NS2,
    mutate: (d) => {
      const l = res(d, "tollgate-inspection-listener");
      setProp(l, "defaultActions", [
        {
          type: "forward",
          targetGroupArn:
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/other/0123456789abcdef",
        },
      ]);
      delete l.propertyDependencies?.defaultActions;
    },
  },
  {
    name: "an Auto Scaling group spanning every AZ instead of one per AZ",
    base: NS,
    mutate: (d) => {
      remove(
        d,
        "tollgate-inspection-appliance-asg-us-east-1b",
        "tollgate-inspection-appliance-asg-us-east-1c",
      );
      const asg = res(d, "tollgate-inspection-appliance-asg-us-east-1a");
      const subnets = AZS3.map((az) => res(d, `tollgate-inspection-appliance-${az}`));
      setProp(
        asg,
        "vpcZoneIdentifiers",
        subnets.map((s) => s.id),
      );
      asg.propertyDependencies = {
        ...asg.propertyDependencies,
        vpcZoneIdentifiers: subnets.map((s) => s.urn),
      };
    },
  },
];

describe("valid variants: the pack says nothing false", function () {
  this.timeout(120000);

  for (const v of VARIANTS) {
    for (const mode of ["exported state", "unknown ids", "unknown computed"] as const) {
      it(`${v.name} (${mode})`, async () => {
        const d = await captured(v.base);
        v.mutate(d);
        const x =
          mode === "unknown ids"
            ? unknownIds(d)
            : mode === "unknown computed"
              ? unknownComputed(d)
              : d;
        const result = await check(x);
        assert.equal(result.violations.length, 0, show(result));
      });
    }
  }

  it("relinking a subnet back to its own table is clean (the helpers change nothing else)", async () => {
    const d = await captured(NS2);
    relink(
      res(d, "tollgate-ns-workload-rta-us-east-1a"),
      "routeTableId",
      res(d, "tollgate-ns-workload-rt-us-east-1a"),
    );
    const result = await check(d);
    assert.equal(result.violations.length, 0, show(result));
  });
});
