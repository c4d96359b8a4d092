import assert from "node:assert/strict";
import type {
  Policies,
  PolicyResource,
  ResourceValidationPolicy,
  StackValidationPolicy,
} from "@pulumi/policy/policy";
import {
  PolicyConfigError,
  resolveConfig,
  runPolicies,
  StateResource,
  tollgatePolicies,
} from "@tollgate/policy";
import { UNKNOWN } from "./helpers";

const urn = (type: string, name: string): string => `urn:pulumi:dev::tollgate::${type}::${name}`;
const A = urn("aws:ec2/vpc:Vpc", "a");
const B = urn("aws:ec2/subnet:Subnet", "b");
const STATE: StateResource[] = [
  {
    urn: A,
    type: "aws:ec2/vpc:Vpc",
    custom: true,
    id: "vpc-1",
    inputs: { cidrBlock: "10.0.0.0/16" },
    outputs: { cidrBlock: "10.0.0.0/16", arn: "arn:a" },
  },
  {
    urn: B,
    type: "aws:ec2/subnet:Subnet",
    custom: true,
    id: "subnet-1",
    parent: A,
    inputs: { vpcId: "vpc-1", cidrBlock: UNKNOWN },
    outputs: { vpcId: "vpc-1", cidrBlock: UNKNOWN, id: "subnet-1" },
    dependencies: [A, urn("x:y:Z", "gone")],
    propertyDependencies: { vpcId: [A, urn("x:y:Z", "gone")] },
  },
];

describe("in-process policy runner (engine semantics)", () => {
  it("resource policies see inputs, stack policies see outputs linked by URN", async () => {
    const seen: Record<string, unknown>[] = [];
    let stack: PolicyResource[] = [];
    const policies: Policies = [
      {
        name: "r",
        description: "r",
        validateResource: (args) => {
          if (args.type === "aws:ec2/vpc:Vpc") seen.push({ ...args.props });
        },
      } as ResourceValidationPolicy,
      {
        name: "s",
        description: "s",
        validateStack: (args) => void (stack = args.resources),
      } as StackValidationPolicy,
    ];
    await runPolicies(STATE, { policies });
    assert.deepEqual(seen, [{ cidrBlock: "10.0.0.0/16" }]);
    const vpc = stack.find((r) => r.urn === A);
    const subnet = stack.find((r) => r.urn === B);
    assert.equal(vpc?.props.arn, "arn:a");
    assert.equal(vpc?.props.id, "vpc-1", "top-level id is visible in outputs");
    assert.equal(subnet?.parent, vpc);
    assert.deepEqual(subnet?.dependencies, [vpc], "dangling URNs are dropped");
    assert.deepEqual(subnet?.propertyDependencies.vpcId, [vpc]);
    assert.equal(subnet?.name, "b");
  });

  it("resources see their provider (type, name, URN, properties)", async () => {
    const prov = urn("pulumi:providers:aws", "default");
    const state: StateResource[] = [
      {
        urn: prov,
        type: "pulumi:providers:aws",
        custom: true,
        id: "p1",
        inputs: { region: "eu-west-1" },
        outputs: { region: "eu-west-1" },
      },
      { ...STATE[0]!, provider: `${prov}::p1` },
    ];
    const seen: string[] = [];
    const policies: Policies = [
      {
        name: "prov",
        description: "d",
        validateResource: (args) =>
          void (
            args.provider &&
            seen.push(
              `${args.provider.type}/${args.provider.name}/${String(args.provider.props.region)}`,
            )
          ),
      } as ResourceValidationPolicy,
      {
        name: "prov-stack",
        description: "d",
        validateStack: (args) => {
          for (const r of args.resources) if (r.provider) seen.push(`stack:${r.provider.urn}`);
        },
      } as StackValidationPolicy,
    ];
    await runPolicies(state, { policies });
    assert.deepEqual(seen, ["pulumi:providers:aws/default/eu-west-1", `stack:${prov}`]);
  });

  it("reading an unknown value aborts the policy with an advisory can't-run diagnostic", async () => {
    const policies: Policies = [
      {
        name: "reads-cidr",
        description: "d",
        enforcementLevel: "mandatory",
        validateResource: (args, report) => {
          if (args.props.cidrBlock === "x") report("never");
        },
      } as ResourceValidationPolicy,
    ];
    const r = await runPolicies(STATE, { policies });
    assert.equal(r.violations.length, 1);
    const v = r.violations[0];
    assert.equal(v?.enforcementLevel, "advisory");
    assert.equal(v?.urn, B);
    assert.match(
      v?.message ?? "",
      /^can't run policy 'reads-cidr' from policy pack 'tollgate@v0\.1\.0' during preview: string value at \.cidrBlock can't be known during preview$/,
    );
  });

  it("messages are '<description>\\n<message>'; resource reports always carry the resource URN", async () => {
    const policies: Policies = [
      {
        name: "p",
        description: "Desc.",
        enforcementLevel: "mandatory",
        severity: "high",
        validateResource: (_a, report) => report("msg", "urn:ignored"),
      } as ResourceValidationPolicy,
    ];
    const r = await runPolicies(STATE.slice(0, 1), { policies });
    assert.equal(r.violations[0]?.message, "Desc.\nmsg");
    assert.equal(r.violations[0]?.urn, A);
    assert.equal(r.violations[0]?.severity, "high");
  });

  it("enforcement: config beats 'all' beats the policy beats the pack; disabled policies do not run", async () => {
    let ran = 0;
    const mk = (name: string, level?: "mandatory"): ResourceValidationPolicy => ({
      name,
      description: name,
      enforcementLevel: level,
      validateResource: (_a, report) => {
        ran++;
        report("x");
      },
    });
    const policies = [mk("p1", "mandatory"), mk("p2"), mk("p3", "mandatory")];
    const r = await runPolicies(STATE.slice(0, 1), {
      policies,
      config: { all: "advisory", p3: "disabled" },
      packEnforcementLevel: "mandatory",
    });
    assert.equal(ran, 2);
    assert.deepEqual(
      r.violations.map((v) => [v.policyName, v.enforcementLevel]),
      [
        ["p1", "advisory"],
        ["p2", "advisory"],
      ],
    );
    const r2 = await runPolicies(STATE.slice(0, 1), {
      policies: [mk("p2")],
      packEnforcementLevel: "mandatory",
    });
    assert.equal(r2.violations[0]?.enforcementLevel, "mandatory");
  });

  it("remediations run before validations, in order, each seeing the previous result", async () => {
    const order: string[] = [];
    const rem = (
      name: string,
      f: (p: Record<string, unknown>) => Record<string, unknown>,
    ): ResourceValidationPolicy => ({
      name,
      description: name,
      enforcementLevel: "remediate",
      remediateResource: (args) => {
        order.push(`${name}:${JSON.stringify(args.props)}`);
        return f({ ...args.props });
      },
    });
    const check: ResourceValidationPolicy = {
      name: "check",
      description: "check",
      enforcementLevel: "mandatory",
      validateResource: (args, report) => {
        order.push(`check:${JSON.stringify(args.props)}`);
        if (args.props.b !== 2) report("not remediated");
      },
    };
    const r = await runPolicies(STATE.slice(0, 1), {
      policies: [
        check,
        rem("one", (p) => ({ ...p, a: 1 })),
        rem("two", (p) => ({ ...p, b: p.a === 1 ? 2 : 0 })),
      ],
    });
    assert.deepEqual(order, [
      'one:{"cidrBlock":"10.0.0.0/16"}',
      'two:{"cidrBlock":"10.0.0.0/16","a":1}',
      'check:{"cidrBlock":"10.0.0.0/16","a":1,"b":2}',
    ]);
    assert.equal(r.violations.length, 0);
    assert.equal(r.remediations.length, 2);
  });

  it("config: schema defaults are filled in; user values validated with the policy and key named", () => {
    const cfg = resolveConfig(
      tollgatePolicies,
      { "tollgate-iam-managed-policy-allowlist": { allowedManagedPolicies: ["X"] } },
      "advisory",
    );
    assert.deepEqual(cfg.get("tollgate-iam-managed-policy-allowlist")?.properties, {
      allowedManagedPolicies: ["X"],
      allowStackPolicies: true,
    });
    assert.deepEqual(cfg.get("tollgate-routing-egress-tgw")?.properties, { spokeCidrs: [] });
    assert.equal(cfg.get("tollgate-routing-egress-tgw")?.enforcementLevel, "mandatory");
    assert.throws(
      () => resolveConfig(tollgatePolicies, { "tollgate-nope": "advisory" }, "advisory"),
      /unknown policy "tollgate-nope"/,
    );
    assert.throws(
      () =>
        resolveConfig(
          tollgatePolicies,
          { "tollgate-routing-egress-tgw": { spokes: [] } },
          "advisory",
        ),
      /unknown key "spokes"; known keys: spokeCidrs/,
    );
    assert.throws(
      () =>
        resolveConfig(
          tollgatePolicies,
          { "tollgate-routing-egress-tgw": { spokeCidrs: [1] } },
          "advisory",
        ),
      (e: unknown) =>
        e instanceof PolicyConfigError && /spokeCidrs\[0\] must be string/.test(e.message),
    );
    assert.throws(
      () => resolveConfig(tollgatePolicies, { all: "loud" }, "advisory"),
      /"all" must be one of/,
    );
  });

  it("every Tollgate policy is named tollgate-<area>-<rule> with description, severity, docs link and remediation", () => {
    const names = new Set<string>();
    for (const p of tollgatePolicies) {
      assert.match(p.name, /^tollgate-(routing|gwlb|iam|exposure|vpc)-[a-z0-9-]+$/);
      assert.ok(!names.has(p.name));
      names.add(p.name);
      assert.ok(p.description.length > 20, p.name);
      assert.ok(p.severity, p.name);
      assert.match(p.url ?? "", /^https:\/\/docs\.aws\.amazon\.com\//, p.name);
      assert.ok((p.remediationSteps ?? "").length > 20, p.name);
      if (/^tollgate-(routing|iam)-/.test(p.name))
        assert.equal(p.enforcementLevel, "mandatory", p.name);
    }
  });
});
