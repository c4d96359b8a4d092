import assert from "node:assert/strict";
import fc from "fast-check";
import {
  contains,
  followThePacket,
  formatPacketWalks,
  linkStack,
  parseCidr,
  topologyOf,
  walkedPaths,
} from "@tollgate/policy";
import {
  captured,
  check,
  DeploymentV3,
  nameOf,
  remove,
  res,
  ResourceV3,
  retarget,
  show,
  unknownIds,
} from "./helpers";

describe("CIDR arithmetic", () => {
  it("parses IPv4 and IPv6 prefixes and rejects malformed ones", () => {
    assert.equal(parseCidr("10.1.2.0/24")?.len, 24);
    assert.equal(
      parseCidr("10.1.2.3/24")?.net,
      parseCidr("10.1.2.0/24")?.net,
      "host bits are masked",
    );
    assert.equal(parseCidr("2600:1f18:76b8:6600::/64")?.family, 6);
    assert.equal(parseCidr("::/0")?.len, 0);
    for (const bad of [
      "10.1.2.0",
      "10.1.2.256/24",
      "10.1.2.0/33",
      "2600::1::/64",
      "::/129",
      "x/1",
      "",
    ]) {
      assert.equal(parseCidr(bad), undefined, bad);
    }
  });

  it("a prefix contains every longer prefix of the same address (property)", () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.nat({ max: 32 }), fc.nat({ max: 32 }), (ip, a, b) => {
        const [short, long] = a <= b ? [a, b] : [b, a];
        const outer = parseCidr(`${ip}/${short}`);
        const inner = parseCidr(`${ip}/${long}`);
        assert.ok(outer && inner && contains(outer, inner));
        if (short < long) assert.ok(!contains(inner, outer));
      }),
    );
    fc.assert(
      fc.property(fc.ipV6(), fc.nat({ max: 128 }), (ip, len) => {
        const c = parseCidr(`${ip}/${len}`);
        const all = parseCidr("::/0");
        assert.ok(c && all && contains(all, c) && !contains(c, parseCidr("0.0.0.0/0") ?? c));
      }),
    );
  });
});

/** Moves every aws.ec2.Route into its route table's inline `routes`. */
function inlineRoutes(d: DeploymentV3): DeploymentV3 {
  const byUrn = new Map(d.deployment.resources.map((r) => [r.urn, r]));
  const keep: ResourceV3[] = [];
  for (const r of d.deployment.resources) {
    if (r.type !== "aws:ec2/route:Route") {
      keep.push(r);
      continue;
    }
    const table = byUrn.get(r.propertyDependencies?.routeTableId?.[0] ?? "");
    if (!table) throw new Error(`route ${nameOf(r)} has no table`);
    const entry: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(r.inputs)) {
      if (k === "routeTableId") continue;
      entry[
        k === "destinationCidrBlock"
          ? "cidrBlock"
          : k === "destinationIpv6CidrBlock"
            ? "ipv6CidrBlock"
            : k
      ] = v;
    }
    for (const bag of [table.inputs, table.outputs])
      bag.routes = [...((bag.routes as unknown[]) ?? []), entry];
    const deps = Object.entries(r.propertyDependencies ?? {})
      .filter(([k]) => k !== "routeTableId")
      .flatMap(([, v]) => v);
    table.propertyDependencies = {
      ...table.propertyDependencies,
      routes: [...(table.propertyDependencies?.routes ?? []), ...deps],
    };
  }
  d.deployment.resources = keep;
  return d;
}

describe("inline RouteTable routes", function () {
  this.timeout(60000);

  it("a deployment with inline routes is clean, with ids known or unknown", async () => {
    const d = inlineRoutes(await captured("north-south-3az-dualstack"));
    assert.ok(!d.deployment.resources.some((r) => r.type === "aws:ec2/route:Route"));
    for (const x of [d, unknownIds(d)]) {
      const r = await check(x);
      assert.equal(r.violations.length, 0, show(r));
    }
  });

  it("an inline default route to the IGW is caught, naming the route table and the path", async () => {
    const d = inlineRoutes(await captured("north-south-3az-dualstack"));
    const rt = res(d, "tollgate-ns-workload-rt-us-east-1b");
    const igw = res(d, "tollgate-ns-igw");
    for (const bag of [rt.inputs, rt.outputs]) {
      bag.routes = (bag.routes as Record<string, unknown>[]).map((e) =>
        e.cidrBlock === "0.0.0.0/0" ? { cidrBlock: "0.0.0.0/0", gatewayId: igw.id } : e,
      );
    }
    const r = await check(d);
    const v = r.violations.find((x) => x.policyName === "tollgate-routing-default-via-endpoint");
    assert.equal(v?.resourceName, "tollgate-ns-workload-rt-us-east-1b", show(r));
    assert.ok(
      r.violations.some(
        (x) =>
          x.policyName === "tollgate-routing-follow-the-packet" &&
          /exit: internet gateway "tollgate-ns-igw"/.test(x.detail),
      ),
      show(r),
    );
  });
});

describe("IAM document parsing", () => {
  it("reads string and object documents, single statements, NotAction/NotResource", async () => {
    const { parseDocument, isReadOnly, actionMatches } = await import("@tollgate/policy");
    const one = parseDocument(
      '{"Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}}',
      "doc",
    );
    assert.equal(one.statements.length, 1);
    assert.equal(one.statements[0]?.notAction, true);
    assert.deepEqual(one.statements[0]?.actions, ["iam:*"]);
    const obj = parseDocument(
      { Statement: [{ Effect: "Deny", Action: ["s3:*"], NotResource: ["arn:x"] }] },
      "doc",
    );
    assert.equal(obj.statements[0]?.notResource, true);
    assert.match(
      parseDocument("{nope", "policy of x").error ?? "",
      /policy of x is not valid JSON/,
    );
    assert.ok(
      isReadOnly("ec2:DescribeInstances") &&
        isReadOnly("s3:Get*") &&
        !isReadOnly("ec2:ModifyInstanceAttribute") &&
        !isReadOnly("*"),
    );
    assert.ok(
      actionMatches("iam:Pass*", "iam:PassRole") &&
        actionMatches("*", "iam:PassRole") &&
        !actionMatches("iam:Get*", "iam:PassRole"),
    );
  });

  it("an inline role policy and an unparsable document are reported against the resource", async () => {
    const { runPolicies } = await import("@tollgate/policy");
    const role = {
      urn: "urn:pulumi:dev::tollgate::aws:iam/role:Role::r",
      type: "aws:iam/role:Role",
      inputs: {
        inlinePolicies: [
          {
            name: "inline",
            policy: JSON.stringify({
              Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }],
            }),
          },
        ],
      },
    };
    const bad = {
      urn: "urn:pulumi:dev::tollgate::aws:iam/rolePolicy:RolePolicy::p",
      type: "aws:iam/rolePolicy:RolePolicy",
      inputs: { policy: "{" },
    };
    const r = await runPolicies([role, bad]);
    const names = r.violations.map((v) => `${v.policyName}@${v.resourceName}`);
    assert.ok(names.includes("tollgate-iam-no-wildcard-action@r"), names.join("\n"));
    assert.ok(names.includes("tollgate-iam-no-wildcard-resource-mutation@r"), names.join("\n"));
    assert.ok(
      r.violations.some((v) => v.resourceName === "p" && /not valid JSON/.test(v.detail)),
      names.join("\n"),
    );
  });
});

describe("follow the packet (the model npm run plan and the policy share)", () => {
  const walkedOf = (d: DeploymentV3) =>
    walkedPaths(followThePacket(topologyOf(linkStack(d.deployment.resources))));

  it("every path of a clean stack is delivered, inspected in its AZ, with the appliance hop", async () => {
    const paths = walkedOf(await captured("north-south-3az-dualstack"));
    assert.equal(paths.length, 3 * 4);
    for (const { path: p, verdict } of paths) {
      assert.equal(verdict.text, "inspected, same AZ", p.hops.join("\n"));
      assert.equal(p.outcome, "delivered");
      assert.ok(
        p.hops.includes(
          'GWLB "tollgate-inspection-gwlb" -> appliance (GENEVE udp/6081) -> back to the endpoint',
        ),
        p.hops.join("\n"),
      );
    }
    const text = formatPacketWalks(paths);
    assert.match(
      text,
      /^north-south {2}tollgate-ns-workload-us-east-1a \(subnet-\w+, us-east-1a\)\n/,
    );
    assert.match(text, /\n {2}return ipv6 to 2600:[0-9a-f:]+\/64: inspected, same AZ\n/);
  });

  it("verdicts name a crossed AZ, a skipped endpoint and a dropped packet", async () => {
    const d = await captured("north-south-2az-ipv4");
    retarget(
      res(d, "tollgate-ns-workload-default-us-east-1a"),
      "vpcEndpointId",
      res(d, "tollgate-ns-gwlbe-us-east-1b"),
    );
    retarget(
      res(d, "tollgate-ns-workload-default-us-east-1b"),
      "gatewayId",
      res(d, "tollgate-ns-igw"),
    );
    remove(d, "tollgate-ns-igw-edge-us-east-1a");
    const out = (az: string) =>
      walkedOf(d)
        .filter((p) => p.path.subnet.az === az)
        .map((p) => p.verdict.text);
    // Without its edge route the reply takes the edge table's implicit local route.
    assert.deepEqual(out("us-east-1a"), ["INSPECTED, CROSSES AZ", "NOT INSPECTED"]);
    assert.deepEqual(out("us-east-1b"), ["NOT INSPECTED", "inspected, same AZ"]);
    const text = formatPacketWalks(walkedOf(d));
    assert.match(
      text,
      /!! GWLB endpoint "tollgate-ns-gwlbe-us-east-1b" \(vpce-\w+\) is in us-east-1b/,
    );
    assert.match(
      text,
      /10\.1\.0\.0\/24 -> local\n {5}\d\. delivered to subnet "tollgate-ns-workload-us-east-1a"/,
    );
    const dropped = await captured("north-south-2az-ipv4");
    remove(dropped, "tollgate-ns-endpoint-default-us-east-1a");
    const [outA] = walkedOf(dropped).filter((p) => p.path.subnet.az === "us-east-1a");
    assert.equal(outA?.verdict.text, "NOT DELIVERED");
    assert.equal(outA?.path.outcome, "dropped");
    assert.match(outA?.path.hops.at(-1) ?? "", /: no route for 0\.0\.0\.0\/0 \(dropped\)$/);
  });

  it("a walked path names each hop's resource, its failing hop and the resource to change", async () => {
    const d = await captured("north-south-2az-ipv4");
    retarget(
      res(d, "tollgate-ns-workload-default-us-east-1b"),
      "gatewayId",
      res(d, "tollgate-ns-igw"),
    );
    for (const x of [d, unknownIds(d)]) {
      const [bad] = walkedOf(x).filter(
        (p) => p.path.subnet.az === "us-east-1b" && p.path.direction === "outbound",
      );
      const p = bad?.path;
      assert.ok(p && bad.failingHop !== undefined, "the outbound path of us-east-1b has a problem");
      assert.equal(p.hopNodes.length, p.hops.length);
      assert.equal(p.hopNodes[0]?.res?.name, "tollgate-ns-workload-us-east-1b");
      assert.match(p.hops[bad.failingHop] ?? "", /^exit: internet gateway "tollgate-ns-igw"/);
      const blamed = p.problems[0]?.blame?.nodes[0];
      assert.equal(blamed?.res?.name, "tollgate-ns-workload-default-us-east-1b");
      assert.ok(
        p.hopNodes.includes(blamed),
        "the blamed route is one of the path's hops (the diagram marks it)",
      );
    }
  });

  it("spoke subnets are walked across the Transit Gateway, out and back, naming its route tables", async () => {
    const d = await captured("egress-2az");
    const walks = (x: DeploymentV3) =>
      walkedPaths(
        followThePacket(topologyOf(linkStack(x.deployment.resources)), { spokes: true }),
      ).filter((p) => p.topology === "spoke");
    const clean = walks(d);
    assert.equal(clean.length, 2 * 2 * 2, "2 spokes x 2 AZs, out and back");
    for (const { path: p, verdict } of clean) {
      assert.equal(verdict.text, "inspected, same AZ", p.hops.join("\n"));
    }
    const text = formatPacketWalks(clean);
    assert.match(
      text,
      /TGW route table "tollgate-egress-tgw-spoke-rt" \(tgw-rtb-\w+\): 0\.0\.0\.0\/0 -> TGW attachment "tollgate-egress-hub-attach" \(tgw-attach-\w+\) \(appliance mode\)/,
    );
    assert.match(
      text,
      /TGW route table "tollgate-egress-tgw-hub-rt" \(tgw-rtb-\w+\): 10\.10\.0\.0\/16 -> TGW attachment "tollgate-egress-spoke-app-attach" \(tgw-attach-\w+\) \(propagated\)\n\s+\d+\. delivered to subnet "tollgate-egress-spoke-app-workload-eu-west-1a"/,
    );
    // Without the spoke route table's default route the TGW drops the packet.
    remove(d, "tollgate-egress-tgw-spoke-default");
    const broken = walks(d).filter((p) => p.path.direction === "outbound");
    assert.equal(broken.length, 4);
    for (const { path: p, verdict } of broken) {
      assert.equal(verdict.text, "NOT DELIVERED");
      assert.match(
        p.hops.at(-1) ?? "",
        /"tollgate-egress-tgw-spoke-rt".*: no route for 0\.0\.0\.0\/0 \(dropped\)$/,
      );
    }
  });

  it("an adopted subnet keeping its own route table is walked, and a bypass there is reported", async () => {
    const d = await captured("adopt-2az-ipv4");
    const kept = walkedOf(d).filter((p) => p.path.subnet.id === "subnet-0aaa0000000000002");
    assert.deepEqual(
      kept.map((p) => [p.path.direction, p.path.subnet.az, p.verdict.text]),
      [
        ["outbound", "us-east-1b", "inspected, same AZ"],
        ["return", "us-east-1b", "inspected, same AZ"],
      ],
    );
    assert.match(
      kept[0]?.path.hops[1] ?? "",
      /^route table rtb-0bbb0000000000002 \(outside the stack\)/,
    );
    const igw = res(d, "tollgate-ns-endpoint-default-us-east-1b");
    retarget(
      res(d, "tollgate-ns-workload-default-subnet-0aaa0000000000002"),
      "gatewayId",
      String(igw.inputs.gatewayId),
    );
    const r = await check(d);
    assert.ok(
      r.violations.some(
        (v) =>
          v.policyName === "tollgate-routing-follow-the-packet" &&
          /subnet-0aaa0000000000002/.test(v.detail) &&
          /without passing a GWLB endpoint/.test(v.detail),
      ),
      show(r),
    );
  });
});
