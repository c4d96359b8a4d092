import * as assert from "assert";
import { EXAMPLE_CONFIGS } from "../../scripts/capture";
import * as path from "path";
import {
  checkRulesFile,
  fakeArtifactSource,
  DEFAULT_RULES_FILE,
  cloudWatchAgentObject,
  renderUserData,
} from "@tollgate/components";
import { capture, example, isMutatingAction, Stack } from "./helpers";

/** The project directory (examples' rulesFile is relative to it). */
const REPO = path.join(__dirname, "..", "..", "..");

const ROUTE = "aws:ec2/route:Route";
const SUBNET = "aws:ec2/subnet:Subnet";

/** Every route that targets a GWLB endpoint or NAT gateway stays in the AZ of the subnets its table serves. */
function assertSameAzRouting(s: Stack): number {
  let checked = 0;
  for (const r of s.ofType(ROUTE)) {
    const rt = r.inputs.routeTableId as string;
    const vpce = r.inputs.vpcEndpointId as string | undefined;
    const nat = r.inputs.natGatewayId as string | undefined;
    if (!vpce && !nat) continue;
    const targetAz = vpce
      ? s.endpointAz(vpce)
      : s.azOfSubnet(s.byId(nat!)!.inputs.subnetId as string);
    assert.ok(targetAz, `${r.urn}: target AZ known`);
    const assocs = s
      .ofType("aws:ec2/routeTableAssociation:RouteTableAssociation")
      .filter((a) => a.inputs.routeTableId === rt);
    const edge = assocs.some((a) => a.inputs.gatewayId !== undefined);
    if (edge) {
      // IGW edge table: the destination is a whole workload subnet of the endpoint's AZ.
      const dest = (r.inputs.destinationCidrBlock ?? r.inputs.destinationIpv6CidrBlock) as string;
      const ns = s.component("tollgate:inspectedVpc:InspectedVpc").outputs.workloadSubnets as {
        cidr: string;
        ipv6Cidr?: string;
        availabilityZone: string;
      }[];
      const sub = ns.find((w) => w.cidr === dest || w.ipv6Cidr === dest);
      assert.ok(sub, `${r.urn}: edge route destination ${dest} is a whole workload subnet CIDR`);
      assert.strictEqual(
        sub.availabilityZone,
        targetAz,
        `${r.urn}: edge route goes to the endpoint of the subnet's AZ`,
      );
    } else if (assocs.length > 0) {
      for (const a of assocs)
        assert.strictEqual(
          subnetAz(s, a.inputs.subnetId as string),
          targetAz,
          `${r.urn}: same AZ as ${a.inputs.subnetId}`,
        );
    } else {
      // An adopted route table: the workload subnet is named in the config.
      const ns = s.component("tollgate:inspectedVpc:InspectedVpc").outputs.workloadSubnets as {
        routeTableId: string;
        availabilityZone: string;
      }[];
      const w = ns.find((x) => x.routeTableId === rt);
      assert.ok(w, `${r.urn}: route table ${rt} belongs to an inspected subnet`);
      assert.strictEqual(w.availabilityZone, targetAz);
    }
    assert.ok(
      r.urn.endsWith(`-${targetAz}`) || r.urn.includes("subnet-"),
      `${r.urn}: named after its AZ`,
    );
    checked++;
  }
  return checked;
}

/** AZ of a created subnet, or of an adopted one (from the component's outputs). */
function subnetAz(s: Stack, id: string): string | undefined {
  const created = s.azOfSubnet(id);
  if (created) return created;
  const ns = s.ofType("tollgate:inspectedVpc:InspectedVpc")[0]?.outputs.workloadSubnets as
    { id: string; availabilityZone: string }[] | undefined;
  return ns?.find((w) => w.id === id)?.availabilityZone;
}

/** Sorts [destination, target] pairs (registration order is not deterministic). */
function sorted<T>(rows: T[]): T[] {
  return [...rows].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

function policyDocs(s: Stack): {
  Statement: {
    Action: string[];
    Resource?: string[];
    Effect: string;
    Condition?: { StringEquals?: Record<string, string> };
  }[];
}[] {
  return [
    ...s.ofType("aws:iam/rolePolicy:RolePolicy").map((r) => JSON.parse(r.inputs.policy as string)),
    ...s.ofType("aws:iam/role:Role").map((r) => JSON.parse(r.inputs.assumeRolePolicy as string)),
  ];
}

describe("component wiring under mocks", function () {
  this.timeout(60000);

  for (const name of Object.keys(EXAMPLE_CONFIGS)) {
    describe(name, () => {
      it("keeps every endpoint / NAT route inside one AZ", async () => {
        const s = await example(name);
        assert.ok(assertSameAzRouting(s) > 0);
      });

      it("wires the GWLB, target group and listener as configured", async () => {
        const s = await example(name);
        const cfg = EXAMPLE_CONFIGS[name]!;
        const lb = s.ofType("aws:lb/loadBalancer:LoadBalancer");
        assert.strictEqual(lb.length, 1);
        assert.ok(lb[0]!.urn.endsWith("::tollgate-inspection-gwlb"));
        assert.ok(
          s.ofType("aws:lb/targetGroup:TargetGroup")[0]!.urn.endsWith("::tollgate-inspection-tg"),
        );
        assert.strictEqual(lb[0]!.inputs.loadBalancerType, "gateway");
        assert.strictEqual(lb[0]!.inputs.enableCrossZoneLoadBalancing, false);
        assert.strictEqual(lb[0]!.inputs.ipAddressType, cfg.ipv6 ? "dualstack" : "ipv4");
        const azs = s.component("pulumi:pulumi:Stack").outputs.availabilityZones as string[];
        assert.strictEqual(azs.length, cfg.azCount);
        const lbSubnets = (lb[0]!.inputs.subnets as string[]).map((id) => s.azOfSubnet(id));
        assert.deepStrictEqual(lbSubnets, azs);
        const tg = s.ofType("aws:lb/targetGroup:TargetGroup")[0]!;
        assert.strictEqual(tg.inputs.protocol, "GENEVE");
        assert.strictEqual(tg.inputs.port, 6081);
        assert.deepStrictEqual(tg.inputs.healthCheck, {
          enabled: true,
          protocol: "HTTP",
          port: "8080",
          path: "/healthz",
          interval: 10,
          timeout: 5,
          healthyThreshold: 3,
          unhealthyThreshold: 3,
        });
        assert.deepStrictEqual(tg.inputs.targetFailovers, [
          { onDeregistration: "rebalance", onUnhealthy: "rebalance" },
        ]);
        assert.deepStrictEqual(tg.inputs.stickiness, {
          enabled: false,
          type: "source_ip_dest_ip_proto",
        });
        const listener = s.ofType("aws:lb/listener:Listener")[0]!;
        assert.strictEqual(listener.inputs.loadBalancerArn, lb[0]!.id);
        assert.deepStrictEqual(listener.inputs.defaultActions, [
          { type: "forward", targetGroupArn: tg.id },
        ]);
        const idle =
          (cfg.inspection as { tcpIdleTimeoutSeconds?: number } | undefined)
            ?.tcpIdleTimeoutSeconds ?? 350;
        assert.strictEqual(listener.inputs.tcpIdleTimeoutSeconds, idle);
      });

      it("builds the fleet: IMDSv2, no public IP, encrypted root, ELB health, refresh, scaling, no SSH", async () => {
        const s = await example(name);
        const lt = s.ofType("aws:ec2/launchTemplate:LaunchTemplate")[0]!;
        assert.deepStrictEqual(lt.inputs.metadataOptions, {
          httpEndpoint: "enabled",
          httpTokens: "required",
          httpPutResponseHopLimit: 1,
          instanceMetadataTags: "disabled",
        });
        const nic = (lt.inputs.networkInterfaces as Record<string, unknown>[])[0]!;
        assert.strictEqual(nic.associatePublicIpAddress, "false");
        const ebs = (lt.inputs.blockDeviceMappings as { ebs: Record<string, unknown> }[])[0]!.ebs;
        assert.strictEqual(ebs.encrypted, "true");
        assert.match(String(lt.inputs.imageId), /^ami-[0-9a-f]{17}$/);
        // One Auto Scaling group per AZ, each in that AZ's appliance subnet only.
        const azs = s.component("pulumi:pulumi:Stack").outputs.availabilityZones as string[];
        const groups = s.ofType("aws:autoscaling/group:Group");
        assert.strictEqual(groups.length, azs.length);
        const tg = s.ofType("aws:lb/targetGroup:TargetGroup")[0]!;
        const policies = s.ofType("aws:autoscaling/policy:Policy");
        const fleetCfg = (EXAMPLE_CONFIGS[name]!.fleet ?? {}) as {
          minSizePerAz?: number;
          maxSizePerAz?: number;
          scaling?: { metric?: string };
        };
        for (const az of azs) {
          const asg = s.named(`tollgate-inspection-appliance-asg-${az}`);
          const subnets = asg.inputs.vpcZoneIdentifiers as string[];
          assert.strictEqual(subnets.length, 1, az);
          assert.strictEqual(s.azOfSubnet(subnets[0]!), az);
          assert.ok(s.byId(subnets[0]!)!.urn.endsWith(`::tollgate-inspection-appliance-${az}`));
          assert.deepStrictEqual(
            [asg.inputs.minSize, asg.inputs.maxSize, asg.inputs.desiredCapacity],
            [fleetCfg.minSizePerAz ?? 1, fleetCfg.maxSizePerAz ?? 3, fleetCfg.minSizePerAz ?? 1],
          );
          assert.strictEqual(asg.inputs.healthCheckType, "ELB");
          assert.deepStrictEqual(asg.inputs.targetGroupArns, [tg.id]);
          assert.deepStrictEqual((asg.inputs.launchTemplate as { id: string }).id, lt.id);
          // Launch before terminate, for refreshes and health replacements alike.
          assert.deepStrictEqual(asg.inputs.instanceMaintenancePolicy, {
            minHealthyPercentage: 100,
            maxHealthyPercentage: 200,
          });
          assert.deepStrictEqual(asg.inputs.instanceRefresh, {
            strategy: "Rolling",
            preferences: {
              minHealthyPercentage: 100,
              maxHealthyPercentage: 200,
              instanceWarmup: "300",
            },
          });
          assert.strictEqual(asg.inputs.defaultInstanceWarmup, 300);
          const pol = s.named(`tollgate-inspection-appliance-scaling-${az}`);
          assert.strictEqual(pol.inputs.policyType, "TargetTrackingScaling");
          assert.strictEqual(pol.inputs.autoscalingGroupName, asg.outputs.name);
          const tt = pol.inputs.targetTrackingConfiguration as Record<string, unknown>;
          if ((fleetCfg.scaling?.metric ?? "datapath-cpu") === "datapath-cpu") {
            assert.deepStrictEqual(tt, {
              customizedMetricSpecification: {
                namespace: "Tollgate",
                metricName: "DataPathCpuPercent",
                metricDimensions: [{ name: "AutoScalingGroupName", value: asg.outputs.name }],
                statistic: "Average",
              },
              targetValue: 60,
            });
          }
        }
        assert.strictEqual(policies.length, azs.length);
        // Drains for as long as a flow may sit idle before the GWLB forgets it.
        const idle =
          (EXAMPLE_CONFIGS[name]!.inspection as { tcpIdleTimeoutSeconds?: number } | undefined)
            ?.tcpIdleTimeoutSeconds ?? 350;
        assert.strictEqual(tg.inputs.deregistrationDelay, idle);
        // GENEVE and health checks only from the GWLB's subnets (where its interfaces live).
        const lb = s.ofType("aws:lb/loadBalancer:LoadBalancer")[0]!;
        const gwlbCidrs = (lb.inputs.subnets as string[]).map(
          (id) => s.byId(id)!.inputs.cidrBlock as string,
        );
        assert.deepStrictEqual(
          gwlbCidrs,
          azs.map((_, i) => `10.100.${i}.0/24`),
        );
        const sg = s.ofType("aws:ec2/securityGroup:SecurityGroup")[0]!;
        const ingress = sg.inputs.ingress as {
          protocol: string;
          fromPort: number;
          toPort: number;
          cidrBlocks: string[];
        }[];
        assert.deepStrictEqual(
          ingress.map((r) => [r.protocol, r.fromPort, r.toPort, r.cidrBlocks]),
          [
            ["udp", 6081, 6081, gwlbCidrs],
            ["tcp", 8080, 8080, gwlbCidrs],
          ],
        );
        const egress = sg.inputs.egress as { fromPort: number; cidrBlocks: string[] }[];
        assert.deepStrictEqual(egress.find((r) => r.fromPort === 6081)!.cidrBlocks, gwlbCidrs);
        assert.ok(!ingress.some((r) => r.fromPort <= 22 && r.toPort >= 22), "no SSH");
        assert.deepStrictEqual(
          s
            .ofType("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
            .map((a) => a.inputs.policyArn),
          ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"],
        );
      });

      it("delivers the package (and rules) through a private encrypted bucket, readable only as exact objects", async () => {
        const s = await example(name);
        const bucket = s.ofType("aws:s3/bucket:Bucket")[0]!;
        const pab = s.ofType("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")[0]!;
        assert.deepStrictEqual(pab.inputs, {
          bucket: bucket.id,
          blockPublicAcls: true,
          blockPublicPolicy: true,
          ignorePublicAcls: true,
          restrictPublicBuckets: true,
        });
        const sse = s.ofType(
          "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        )[0]!;
        assert.deepStrictEqual(
          (sse.inputs.rules as { applyServerSideEncryptionByDefault: unknown }[])[0]!
            .applyServerSideEncryptionByDefault,
          { sseAlgorithm: "AES256" },
        );
        assert.strictEqual(
          (
            s.ofType("aws:s3/bucketOwnershipControls:BucketOwnershipControls")[0]!.inputs.rule as {
              objectOwnership: string;
            }
          ).objectOwnership,
          "BucketOwnerEnforced",
        );
        const objects = s.ofType("aws:s3/bucketObjectv2:BucketObjectv2");
        const rules = (EXAMPLE_CONFIGS[name]!.appliance as { rulesFile?: string } | undefined)
          ?.rulesFile;
        assert.strictEqual(
          objects.length,
          2,
          "the release and the rules (the default rules when none is set)",
        );
        for (const o of objects) {
          assert.strictEqual(o.inputs.bucket, bucket.id);
          assert.ok(
            o.dependencies?.includes(pab.urn) && o.dependencies.includes(sse.urn),
            "objects wait for the bucket's protections",
          );
        }
        const role = s
          .ofType("aws:iam/rolePolicy:RolePolicy")
          .find((r) => r.urn.endsWith("-appliance-policy"))!;
        const doc = JSON.parse(role.inputs.policy as string) as {
          Statement: { Sid: string; Action: string[]; Resource: string[] }[];
        };
        const amiFamily =
          (EXAMPLE_CONFIGS[name]!.fleet as { amiFamily?: "al2023" } | undefined)?.amiFamily ??
          "ubuntu-22.04";
        const region = String(EXAMPLE_CONFIGS[name]!["aws:region"]);
        const read = doc.Statement.find((st) => st.Sid === "ReadApplianceArtifacts")!;
        assert.deepStrictEqual(read.Action, ["s3:GetObject"]);
        const agent = cloudWatchAgentObject(region, "x86_64");
        const byPrefix = (prefix: string): (typeof objects)[number] =>
          objects.find((o) => String(o.inputs.key).startsWith(prefix))!;
        assert.deepStrictEqual(read.Resource, [
          byPrefix("appliance/").outputs.arn,
          byPrefix("rules/").outputs.arn,
          ...(amiFamily === "al2023" ? [] : [`arn:aws:s3:::${agent.bucket}/${agent.key}`]),
        ]);
        const logGroup = s.named("tollgate-inspection-appliance-logs");
        assert.strictEqual(logGroup.inputs.name, "/tollgate/dev/tollgate-inspection/appliance");
        const logs = doc.Statement.find((st) => st.Sid === "WriteOwnLogGroup")!;
        assert.deepStrictEqual(logs.Resource, [
          logGroup.outputs.arn,
          `${logGroup.outputs.arn}:log-stream:*`,
        ]);
        // The agent publishes the scaling metric into its one namespace (PutMetricData has no
        // resource-level permissions, hence * with a namespace condition).
        assert.deepStrictEqual(
          doc.Statement.find((st) => st.Sid === "PublishApplianceMetrics"),
          {
            Sid: "PublishApplianceMetrics",
            Effect: "Allow",
            Action: ["cloudwatch:PutMetricData"],
            Resource: ["*"],
            Condition: { StringEquals: { "cloudwatch:namespace": "Tollgate" } },
          },
        );
        assert.deepStrictEqual(
          doc.Statement.map((st) => st.Sid),
          [
            "ReadApplianceArtifacts",
            "WriteOwnLogGroup",
            "PublishApplianceMetrics",
            "ReadInstanceTags",
          ],
        );
        // User data fetches exactly these objects and checks their hashes.
        const lt = s.ofType("aws:ec2/launchTemplate:LaunchTemplate")[0]!;
        const userData = Buffer.from(lt.inputs.userData as string, "base64").toString("utf8");
        const pkg = byPrefix("appliance/");
        const rulesObject = byPrefix("rules/");
        assert.ok(userData.includes(`TG_BUCKET=${String(bucket.id)}`));
        assert.ok(userData.includes(`s3_get_verified "$TG_BUCKET" ${String(pkg.inputs.key)} `));
        assert.ok(
          userData.includes(`s3_get_verified "$TG_BUCKET" ${String(rulesObject.inputs.key)} `),
        );
        const fake = fakeArtifactSource();
        assert.strictEqual(
          userData,
          renderUserData({
            amiFamily,
            architecture: "x86_64",
            region,
            bucket: String(bucket.id),
            packageKey: String(pkg.inputs.key),
            packageSha256: (await fake.release("appliance", "x86_64")).sha256,
            rulesKey: String(rulesObject.inputs.key),
            rulesSha256: fake.rulesFile(rules ?? DEFAULT_RULES_FILE).sha256,
            // lab.yaml has a suricata: section: the instances install Suricata.
            suricata: checkRulesFile(rules ?? DEFAULT_RULES_FILE, REPO).suricata,
            healthPort: 8080,
            tcpIdleTimeoutSeconds:
              (EXAMPLE_CONFIGS[name]!.inspection as { tcpIdleTimeoutSeconds?: number } | undefined)
                ?.tcpIdleTimeoutSeconds ?? 350,
            logGroupName: String(logGroup.inputs.name),
            extraApplianceArgs: [],
            gwlbSourceCidrs: (
              s.ofType("aws:lb/loadBalancer:LoadBalancer")[0]!.inputs.subnets as string[]
            ).map((id) => String(s.byId(id)!.inputs.cidrBlock)),
          }),
        );
      });

      it("has no IAM statement with a * resource on a mutating action", async () => {
        const s = await example(name);
        for (const doc of policyDocs(s)) {
          for (const st of doc.Statement) {
            if (st.Effect !== "Allow") continue;
            const bare = (st.Resource ?? []).includes("*");
            // The one exception: metric publishing, which has no resource-level permissions,
            // limited to one CloudWatch namespace.
            const namespaced =
              st.Condition?.StringEquals?.["cloudwatch:namespace"] !== undefined &&
              st.Action.every((a) => a === "cloudwatch:PutMetricData");
            assert.ok(
              !(bare && !namespaced && st.Action.some(isMutatingAction)),
              JSON.stringify(st),
            );
          }
        }
      });

      it("exposes the GWLB through an endpoint service for this account, accepting its own endpoints", async () => {
        const s = await example(name);
        const svc = s.ofType("aws:ec2/vpcEndpointService:VpcEndpointService")[0]!;
        assert.deepStrictEqual(svc.inputs.gatewayLoadBalancerArns, [
          s.ofType("aws:lb/loadBalancer:LoadBalancer")[0]!.id,
        ]);
        assert.strictEqual(svc.inputs.acceptanceRequired, true);
        assert.deepStrictEqual(svc.inputs.allowedPrincipals, ["arn:aws:iam::123456789012:root"]);
        const endpoints = s
          .ofType("aws:ec2/vpcEndpoint:VpcEndpoint")
          .filter((e) => e.inputs.vpcEndpointType === "GatewayLoadBalancer");
        const accepters = s.ofType(
          "aws:ec2/vpcEndpointConnectionAccepter:VpcEndpointConnectionAccepter",
        );
        assert.deepStrictEqual(
          accepters.map((a) => a.inputs.vpcEndpointId).sort(),
          endpoints.map((e) => e.id).sort(),
        );
        for (const e of endpoints) {
          assert.strictEqual(e.inputs.serviceName, svc.outputs.serviceName);
          assert.strictEqual((e.inputs.subnetIds as string[]).length, 1, "one endpoint = one AZ");
        }
        // Routes through an endpoint are declared only after the connection is accepted.
        for (const r of s.ofType(ROUTE).filter((x) => x.inputs.vpcEndpointId)) {
          const acc = accepters.find((a) => a.inputs.vpcEndpointId === r.inputs.vpcEndpointId)!;
          assert.ok(r.dependencies?.includes(acc.urn), `${r.urn} depends on ${acc.urn}`);
        }
      });
    });
  }

  describe("north-south, created VPC", () => {
    for (const name of ["north-south-2az-ipv4", "north-south-3az-dualstack"]) {
      it(`${name}: workload -> GWLBe, endpoint -> IGW, IGW edge -> GWLBe per subnet`, async () => {
        const s = await example(name);
        const cfg = EXAMPLE_CONFIGS[name]!;
        const ipv6 = cfg.ipv6 === true;
        const azs = s.component("pulumi:pulumi:Stack").outputs.availabilityZones as string[];
        const igw = s.named("tollgate-ns-igw");
        const vpc = s.named("tollgate-ns-vpc");
        assert.strictEqual(vpc.inputs.assignGeneratedIpv6CidrBlock, ipv6 ? true : undefined);
        const edgeRt = s.named("tollgate-ns-igw-edge-rt");
        const edgeAssoc = s.named("tollgate-ns-igw-edge-rta");
        assert.deepStrictEqual(edgeAssoc.inputs, { gatewayId: igw.id, routeTableId: edgeRt.id });
        const edgeRoutes = s.routes(edgeRt.id!);
        assert.strictEqual(edgeRoutes.length, azs.length * (ipv6 ? 2 : 1));
        for (const az of azs) {
          const workload = s.named(`tollgate-ns-workload-${az}`);
          const epSubnet = s.named(`tollgate-ns-endpoint-${az}`);
          const gwlbe = s.named(`tollgate-ns-gwlbe-${az}`);
          assert.strictEqual(workload.inputs.availabilityZone, az);
          assert.strictEqual(workload.inputs.assignIpv6AddressOnCreation, ipv6 ? true : undefined);
          assert.strictEqual(epSubnet.inputs.availabilityZone, az);
          assert.deepStrictEqual(gwlbe.inputs.subnetIds, [epSubnet.id]);
          assert.strictEqual(gwlbe.inputs.ipAddressType, ipv6 ? "dualstack" : "ipv4");
          const wRt = s.routeTableOfSubnet(workload.id!)!;
          assert.strictEqual(wRt, s.named(`tollgate-ns-workload-rt-${az}`).id);
          const wRoutes = s
            .routes(wRt)
            .map((r) => [
              r.inputs.destinationCidrBlock ?? r.inputs.destinationIpv6CidrBlock,
              r.inputs.vpcEndpointId,
            ]);
          assert.deepStrictEqual(
            sorted(wRoutes),
            sorted([["0.0.0.0/0", gwlbe.id], ...(ipv6 ? [["::/0", gwlbe.id]] : [])]),
          );
          const eRt = s.routeTableOfSubnet(epSubnet.id!)!;
          const eRoutes = s
            .routes(eRt)
            .map((r) => [
              r.inputs.destinationCidrBlock ?? r.inputs.destinationIpv6CidrBlock,
              r.inputs.gatewayId,
            ]);
          assert.deepStrictEqual(
            sorted(eRoutes),
            sorted([["0.0.0.0/0", igw.id], ...(ipv6 ? [["::/0", igw.id]] : [])]),
          );
          const edge = edgeRoutes.filter((r) => r.inputs.vpcEndpointId === gwlbe.id);
          const wantV6 = ipv6 ? [workload.outputs.ipv6CidrBlock] : [];
          assert.deepStrictEqual(
            sorted(
              edge.map((r) => r.inputs.destinationCidrBlock ?? r.inputs.destinationIpv6CidrBlock),
            ),
            sorted([workload.inputs.cidrBlock, ...wantV6]),
          );
          if (ipv6) {
            const v6 = String(workload.inputs.ipv6CidrBlock);
            assert.ok(
              v6.startsWith(String(vpc.outputs.ipv6CidrBlock).slice(0, 12)) && v6.endsWith("/64"),
              `${v6} is a /64 of the VPC block`,
            );
          }
        }
      });
    }
  });

  describe("north-south, adopted VPC", () => {
    it("adopt-2az-ipv4: inserts endpoints and routes into the given VPC, keeps a given route table", async () => {
      const s = await example("adopt-2az-ipv4");
      assert.strictEqual(s.maybeNamed("tollgate-ns-vpc"), undefined, "no VPC created");
      assert.strictEqual(s.maybeNamed("tollgate-ns-igw"), undefined, "no IGW created");
      const edgeAssoc = s.named("tollgate-ns-igw-edge-rta");
      assert.strictEqual(edgeAssoc.inputs.gatewayId, "igw-0a1b2c3d4e5f60718");
      assert.strictEqual(s.named("tollgate-ns-igw-edge-rt").inputs.vpcId, "vpc-0a1b2c3d4e5f60718");
      const ep1 = s.named("tollgate-ns-gwlbe-us-east-1a");
      const ep2 = s.named("tollgate-ns-gwlbe-us-east-1b");
      assert.strictEqual(
        s.named("tollgate-ns-endpoint-us-east-1a").inputs.cidrBlock,
        "10.50.255.0/28",
      );
      // Subnet 1: new route table + association.
      const rt1 = s.named("tollgate-ns-workload-rt-subnet-0aaa0000000000001");
      assert.strictEqual(s.routeTableOfSubnet("subnet-0aaa0000000000001"), rt1.id);
      assert.deepStrictEqual(
        s.routes(rt1.id!).map((r) => [r.inputs.destinationCidrBlock, r.inputs.vpcEndpointId]),
        [["0.0.0.0/0", ep1.id]],
      );
      // Subnet 2: routes go into its existing table; no association is created.
      assert.strictEqual(s.routeTableOfSubnet("subnet-0aaa0000000000002"), undefined);
      assert.strictEqual(
        s.maybeNamed("tollgate-ns-workload-rt-subnet-0aaa0000000000002"),
        undefined,
      );
      assert.deepStrictEqual(
        s
          .routes("rtb-0bbb0000000000002")
          .map((r) => [r.inputs.destinationCidrBlock, r.inputs.vpcEndpointId]),
        [["0.0.0.0/0", ep2.id]],
      );
      const edgeRt = s.named("tollgate-ns-igw-edge-rt");
      assert.deepStrictEqual(
        sorted(
          s.routes(edgeRt.id!).map((r) => [r.inputs.destinationCidrBlock, r.inputs.vpcEndpointId]),
        ),
        [
          ["10.50.0.0/20", ep1.id],
          ["10.50.16.0/20", ep2.id],
        ],
      );
    });

    it("adopt-3az-dualstack: two subnets in one AZ share that AZ's endpoint; IPv6 edge routes per subnet", async () => {
      const s = await example("adopt-3az-dualstack");
      const epA = s.named("tollgate-ns-gwlbe-us-east-1a");
      const edgeRt = s.named("tollgate-ns-igw-edge-rt");
      const edge = s.routes(edgeRt.id!);
      assert.strictEqual(edge.length, 8);
      const toA = edge
        .filter((r) => r.inputs.vpcEndpointId === epA.id)
        .map((r) => r.inputs.destinationCidrBlock ?? r.inputs.destinationIpv6CidrBlock);
      assert.deepStrictEqual(
        sorted(toA),
        sorted([
          "10.60.0.0/20",
          "2600:1f18:abcd:1200::/64",
          "10.60.64.0/20",
          "2600:1f18:abcd:1203::/64",
        ]),
      );
      assert.strictEqual(
        s.named("tollgate-ns-endpoint-us-east-1c").inputs.ipv6CidrBlock,
        "2600:1f18:abcd:12f2::/64",
      );
      assert.strictEqual(
        s
          .ofType("aws:ec2/vpcEndpoint:VpcEndpoint")
          .filter((e) => e.inputs.vpcEndpointType === "GatewayLoadBalancer").length,
        3,
      );
    });
  });

  describe("centralized egress through a TGW", () => {
    for (const name of ["egress-2az", "both-3az"]) {
      it(`${name}: hub routing per AZ, appliance mode, TGW route tables, spokes`, async () => {
        const s = await example(name);
        const cfg = EXAMPLE_CONFIGS[name]!;
        const spokes = (cfg.egress as { spokes: { name: string; cidr: string }[] }).spokes;
        const azs = s.component("pulumi:pulumi:Stack").outputs.availabilityZones as string[];
        const tgw = s.named("tollgate-egress-tgw");
        assert.strictEqual(tgw.inputs.defaultRouteTableAssociation, "disable");
        assert.strictEqual(tgw.inputs.defaultRouteTablePropagation, "disable");
        const igw = s.named("tollgate-egress-hub-igw");
        const hub = s.named("tollgate-egress-hub-attach");
        assert.strictEqual(hub.inputs.applianceModeSupport, "enable");
        assert.deepStrictEqual(
          (hub.inputs.subnetIds as string[]).map((id) => s.azOfSubnet(id)),
          azs,
        );
        for (const az of azs) {
          const gwlbe = s.named(`tollgate-egress-gwlbe-${az}`);
          const nat = s.named(`tollgate-egress-nat-${az}`);
          assert.strictEqual(s.azOfSubnet(nat.inputs.subnetId as string), az);
          assert.strictEqual(nat.inputs.subnetId, s.named(`tollgate-egress-public-${az}`).id);
          const table = (subnet: string): [unknown, unknown][] =>
            s
              .routes(s.routeTableOfSubnet(s.named(subnet).id!)!)
              .map((r) => [
                r.inputs.destinationCidrBlock,
                r.inputs.vpcEndpointId ??
                  r.inputs.natGatewayId ??
                  r.inputs.transitGatewayId ??
                  r.inputs.gatewayId,
              ]);
          assert.deepStrictEqual(table(`tollgate-egress-attachment-${az}`), [
            ["0.0.0.0/0", gwlbe.id],
          ]);
          assert.deepStrictEqual(
            sorted(table(`tollgate-egress-endpoint-${az}`)),
            sorted([
              ["0.0.0.0/0", nat.id],
              ...spokes.map((sp): [unknown, unknown] => [sp.cidr, tgw.id]),
            ]),
          );
          assert.deepStrictEqual(
            sorted(table(`tollgate-egress-public-${az}`)),
            sorted([
              ["0.0.0.0/0", igw.id],
              ...spokes.map((sp): [unknown, unknown] => [sp.cidr, gwlbe.id]),
            ]),
          );
        }
        const spokeRt = s.named("tollgate-egress-tgw-spoke-rt");
        const hubRt = s.named("tollgate-egress-tgw-hub-rt");
        const tgwRoutes = s.ofType("aws:ec2transitgateway/route:Route");
        assert.deepStrictEqual(
          tgwRoutes.map((r) => [
            r.inputs.transitGatewayRouteTableId,
            r.inputs.destinationCidrBlock,
            r.inputs.transitGatewayAttachmentId,
          ]),
          [[spokeRt.id, "0.0.0.0/0", hub.id]],
        );
        const assoc = s
          .ofType("aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation")
          .map((a) => [a.inputs.transitGatewayAttachmentId, a.inputs.transitGatewayRouteTableId]);
        const props = s
          .ofType("aws:ec2transitgateway/routeTablePropagation:RouteTablePropagation")
          .map((a) => [a.inputs.transitGatewayAttachmentId, a.inputs.transitGatewayRouteTableId]);
        assert.deepStrictEqual(
          assoc.filter(([a]) => a === hub.id),
          [[hub.id, hubRt.id]],
        );
        assert.strictEqual(assoc.length, spokes.length + 1);
        for (const sp of spokes) {
          const att = s.named(`tollgate-egress-spoke-${sp.name}-attach`);
          assert.notStrictEqual(att.inputs.applianceModeSupport, "enable");
          assert.deepStrictEqual(
            assoc.filter(([a]) => a === att.id),
            [[att.id, spokeRt.id]],
          );
          assert.deepStrictEqual(
            props.filter(([a]) => a === att.id),
            [[att.id, hubRt.id]],
          );
          const vpc = s.named(`tollgate-egress-spoke-${sp.name}-vpc`);
          assert.strictEqual(vpc.inputs.cidrBlock, sp.cidr);
          const rt = s.named(`tollgate-egress-spoke-${sp.name}-rt`);
          assert.deepStrictEqual(
            s.routes(rt.id!).map((r) => [r.inputs.destinationCidrBlock, r.inputs.transitGatewayId]),
            [["0.0.0.0/0", tgw.id]],
          );
          const def = s.named(`tollgate-egress-spoke-${sp.name}-default`);
          assert.ok(
            def.dependencies?.includes(att.urn),
            "spoke default route waits for the attachment",
          );
          for (const az of azs)
            assert.strictEqual(
              s.routeTableOfSubnet(s.named(`tollgate-egress-spoke-${sp.name}-workload-${az}`).id!),
              rt.id,
            );
        }
      });
    }
  });

  it("2 and 3 AZs: one GWLBe, NAT and appliance subnet per AZ", async () => {
    for (const [name, n] of [
      ["north-south-2az-ipv4", 2],
      ["north-south-3az-dualstack", 3],
      ["both-3az", 3],
    ] as const) {
      const s = await example(name);
      assert.strictEqual(
        s.ofType(SUBNET).filter((x) => x.urn.includes("-inspection-appliance-")).length,
        n,
        name,
      );
      assert.strictEqual(
        s.ofType("aws:ec2/natGateway:NatGateway").filter((x) => x.urn.includes("-inspection-nat-"))
          .length,
        n,
        name,
      );
      assert.strictEqual(
        s
          .ofType("aws:ec2/vpcEndpoint:VpcEndpoint")
          .filter((x) => x.urn.includes("tollgate-ns-gwlbe-")).length,
        n,
        name,
      );
    }
  });

  it("maps non-default GWLB settings from config to the resources", async () => {
    const s = await capture({
      azCount: 2,
      inspection: {
        crossZoneLoadBalancing: true,
        stickiness: "3-tuple",
        targetFailover: "no_rebalance",
        deregistrationDelaySeconds: 30,
        healthCheck: { port: 9090, path: "/health", intervalSeconds: 30, timeoutSeconds: 10 },
      },
      fleet: {
        architecture: "arm64",
        amiFamily: "al2023",
        minSizePerAz: 2,
        maxSizePerAz: 4,
        desiredCapacityPerAz: 3,
        healthCheckGracePeriodSeconds: 600,
        scaling: { metric: "network-in", targetValue: 2_000_000_000 },
      },
      endpointService: {
        acceptanceRequired: false,
        allowedPrincipals: ["arn:aws:iam::210987654321:root"],
      },
    });
    const lb = s.ofType("aws:lb/loadBalancer:LoadBalancer")[0]!;
    assert.strictEqual(lb.inputs.enableCrossZoneLoadBalancing, true);
    const tg = s.ofType("aws:lb/targetGroup:TargetGroup")[0]!;
    assert.deepStrictEqual(tg.inputs.stickiness, {
      enabled: true,
      type: "source_ip_dest_ip_proto",
    });
    assert.deepStrictEqual(tg.inputs.targetFailovers, [
      { onDeregistration: "no_rebalance", onUnhealthy: "no_rebalance" },
    ]);
    assert.strictEqual(tg.inputs.deregistrationDelay, 30);
    assert.deepStrictEqual(tg.inputs.healthCheck, {
      enabled: true,
      protocol: "HTTP",
      port: "9090",
      path: "/health",
      interval: 30,
      timeout: 10,
      healthyThreshold: 3,
      unhealthyThreshold: 3,
    });
    const listener = s.ofType("aws:lb/listener:Listener")[0]!;
    assert.strictEqual(
      listener.inputs.tcpIdleTimeoutSeconds,
      undefined,
      "idle timeout only with 5-tuple stickiness",
    );
    const sg = s.ofType("aws:ec2/securityGroup:SecurityGroup")[0]!;
    assert.deepStrictEqual(
      (sg.inputs.ingress as { fromPort: number }[]).map((r) => r.fromPort),
      [6081, 9090],
    );
    assert.ok(
      !(sg.inputs.egress as { fromPort: number }[]).some((r) => r.fromPort === 80),
      "no plain HTTP egress on AL2023",
    );
    const lt = s.ofType("aws:ec2/launchTemplate:LaunchTemplate")[0]!;
    assert.strictEqual(lt.inputs.instanceType, "c7gn.large");
    assert.strictEqual(
      (lt.inputs.blockDeviceMappings as { deviceName: string }[])[0]!.deviceName,
      "/dev/xvda",
    );
    const userData = Buffer.from(lt.inputs.userData as string, "base64").toString("utf8");
    // The appliance config: health on the listener's port, no TCP idle timeout without 5-tuple.
    assert.match(userData, /^health:\n {2}port: 9090$/m);
    assert.doesNotMatch(userData, /idleTimeout/);
    // The release delivered is the fleet's architecture's; AL2023 takes the agent from dnf.
    const pkg = s
      .ofType("aws:s3/bucketObjectv2:BucketObjectv2")
      .find((o) => String(o.inputs.key).startsWith("appliance/"))!;
    assert.match(String(pkg.inputs.key), /-linux-arm64\.tar\.gz$/);
    assert.ok(userData.includes(`s3_get_verified "$TG_BUCKET" ${String(pkg.inputs.key)} `));
    assert.match(userData, /dnf install -y amazon-cloudwatch-agent/);
    assert.doesNotMatch(userData, /amazoncloudwatch-agent-/);
    const groups = s.ofType("aws:autoscaling/group:Group");
    assert.strictEqual(groups.length, 2);
    for (const asg of groups) {
      assert.deepStrictEqual(
        [asg.inputs.minSize, asg.inputs.maxSize, asg.inputs.desiredCapacity],
        [2, 4, 3],
      );
      assert.strictEqual(asg.inputs.healthCheckGracePeriod, 600);
      assert.strictEqual(asg.inputs.defaultInstanceWarmup, 600);
    }
    const policies = s.ofType("aws:autoscaling/policy:Policy");
    assert.strictEqual(policies.length, 2);
    for (const pol of policies) {
      assert.deepStrictEqual(pol.inputs.targetTrackingConfiguration, {
        predefinedMetricSpecification: { predefinedMetricType: "ASGAverageNetworkIn" },
        targetValue: 2_000_000_000,
      });
    }
    const svc = s.ofType("aws:ec2/vpcEndpointService:VpcEndpointService")[0]!;
    assert.strictEqual(svc.inputs.acceptanceRequired, false);
    assert.deepStrictEqual(svc.inputs.allowedPrincipals, ["arn:aws:iam::210987654321:root"]);
    assert.strictEqual(
      s.ofType("aws:ec2/vpcEndpointConnectionAccepter:VpcEndpointConnectionAccepter").length,
      0,
    );
  });
});
