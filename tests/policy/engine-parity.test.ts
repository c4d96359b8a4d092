/**
 * Parity with the real analyzer: starts the pack the way the Pulumi CLI does
 * (@pulumi/pulumi/cmd/run-policy-pack in policy/, which loads package.json "main"), sends it the
 * engine's Analyze/AnalyzeStack gRPC requests for a broken deployment, and checks that the
 * in-process runner reports exactly the same diagnostics.
 */
import assert from "node:assert/strict";
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { runPolicies, StateResource } from "@tollgate/policy";
import { captured, DeploymentV3, res, retarget, setProp, UNKNOWN } from "./helpers";

/* eslint-disable @typescript-eslint/no-require-imports */
type Msg = Record<string, (...a: unknown[]) => unknown>;
const grpc = require("@grpc/grpc-js") as {
  credentials: { createInsecure(): unknown };
  makeGenericClientConstructor(
    service: unknown,
    name: string,
  ): new (
    addr: string,
    creds: unknown,
  ) => Record<string, (req: unknown, cb: (err: Error | null, resp: Msg) => void) => void> & {
    close(): void;
  };
};
const pb = require("@pulumi/pulumi/proto/analyzer_pb") as Record<string, new () => Msg>;
const services = require("@pulumi/pulumi/proto/analyzer_grpc_pb") as { AnalyzerService: unknown };
const { Struct } = require("google-protobuf/google/protobuf/struct_pb") as {
  Struct: { fromJavaScript(o: unknown): unknown };
};
/* eslint-enable @typescript-eslint/no-require-imports */

const LEVELS = ["advisory", "mandatory", "disabled", "remediate"];
const POLICY_DIR = resolve(__dirname, "../../../policy");
const RUN_POLICY_PACK = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", {
  paths: [POLICY_DIR],
});

const nameOf = (urn: string): string => urn.slice(urn.lastIndexOf("::") + 2);

function options(r: StateResource): Msg {
  const o = new pb.AnalyzerResourceOptions!();
  o.setProtect!(false);
  if (r.parent) o.setParent!(r.parent);
  return o;
}

function broken(d: DeploymentV3): void {
  retarget(
    res(d, "tollgate-ns-workload-default-us-east-1a"),
    "gatewayId",
    res(d, "tollgate-ns-igw"),
  );
  retarget(
    res(d, "tollgate-ns-igw-edge-us-east-1b"),
    "vpcEndpointId",
    res(d, "tollgate-ns-gwlbe-us-east-1a"),
  );
  setProp(res(d, "tollgate-inspection-tg"), "targetFailovers", [
    { onDeregistration: "noRebalance", onUnhealthy: "rebalance" },
  ]);
  setProp(res(d, "tollgate-inspection-listener"), "tcpIdleTimeoutSeconds", 7000);
  setProp(res(d, "tollgate-inspection-appliance-lt"), "metadataOptions", UNKNOWN); // unknown during preview
  setProp(
    res(d, "tollgate-inspection-appliance-ssm"),
    "policyArn",
    "arn:aws:iam::aws:policy/AdministratorAccess",
  );
}

describe("engine parity: in-process runner vs the pack served by run-policy-pack", function () {
  this.timeout(60000);
  let server: ChildProcess | undefined;
  let client:
    | (Record<string, (req: unknown, cb: (err: Error | null, resp: Msg) => void) => void> & {
        close(): void;
      })
    | undefined;

  before(async () => {
    server = spawn(process.execPath, [RUN_POLICY_PACK, "127.0.0.1:1", "."], {
      cwd: POLICY_DIR,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const port = await new Promise<string>((ok, fail) => {
      let out = "";
      let err = "";
      const timer = setTimeout(() => fail(new Error(`policy pack did not start: ${err}`)), 30000);
      server?.stdout?.on("data", (b: Buffer) => {
        out += b.toString();
        const m = /^(\d+)\s*$/m.exec(out);
        if (m?.[1]) {
          clearTimeout(timer);
          ok(m[1]);
        }
      });
      server?.stderr?.on("data", (b: Buffer) => (err += b.toString()));
      server?.on("exit", (code) => fail(new Error(`policy pack exited with ${code}: ${err}`)));
    });
    const Client = grpc.makeGenericClientConstructor(services.AnalyzerService, "Analyzer");
    client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });

  after(() => {
    client?.close();
    server?.kill("SIGKILL");
  });

  const call = (method: string, req: unknown): Promise<Msg> =>
    new Promise((ok, fail) => client?.[method]?.(req, (err, resp) => (err ? fail(err) : ok(resp))));

  const key = (policy: string, urn: string | undefined, message: string, level: string): string =>
    `${policy} | ${urn ? nameOf(urn) : "-"} | ${level} | ${message}`;

  it("reports the same diagnostics, message for message", async () => {
    const d = await captured("north-south-3az-dualstack");
    broken(d);
    const resources = d.deployment.resources as unknown as StateResource[];

    const fromServer: string[] = [];
    // The server leaves a resource diagnostic's URN empty: the engine attributes it to the analyzed resource.
    const collect = (resp: Msg, resourceUrn?: string): void => {
      for (const diag of resp.getDiagnosticsList!() as Msg[]) {
        fromServer.push(
          key(
            String(diag.getPolicyname!()),
            resourceUrn ?? (String(diag.getUrn!() || "") || undefined),
            String(diag.getMessage!()),
            LEVELS[Number(diag.getEnforcementlevel!())] ?? "?",
          ),
        );
      }
    };
    for (const r of resources) {
      const req = new pb.AnalyzeRequest!();
      req.setUrn!(r.urn);
      req.setType!(r.type);
      req.setName!(nameOf(r.urn));
      req.setProperties!(Struct.fromJavaScript(r.inputs ?? {}));
      req.setOptions!(options(r));
      collect(await call("analyze", req), r.urn);
    }
    const stackReq = new pb.AnalyzeStackRequest!();
    stackReq.setResourcesList!(
      resources.map((r) => {
        const a = new pb.AnalyzerResource!();
        a.setUrn!(r.urn);
        a.setType!(r.type);
        a.setName!(nameOf(r.urn));
        a.setProperties!(
          Struct.fromJavaScript({
            ...(r.outputs ?? {}),
            ...(r.id && !r.outputs?.id ? { id: r.id } : {}),
          }),
        );
        a.setOptions!(options(r));
        if (r.parent) a.setParent!(r.parent);
        a.setDependenciesList!([...(r.dependencies ?? [])]);
        const map = a.getPropertydependenciesMap!() as { set(k: string, v: unknown): void };
        for (const [k, urns] of Object.entries(r.propertyDependencies ?? {})) {
          if (urns.length === 0) continue;
          const deps = new pb.AnalyzerPropertyDependencies!();
          deps.setUrnsList!([...urns]);
          map.set(k, deps);
        }
        return a;
      }),
    );
    collect(await call("analyzeStack", stackReq));

    const local = await runPolicies(resources);
    const fromRunner = local.violations.map((v) =>
      key(v.policyName, v.urn, v.message, v.enforcementLevel),
    );

    assert.ok(
      fromServer.length >= 6,
      `expected several diagnostics from the served pack:\n${fromServer.join("\n")}`,
    );
    assert.deepEqual([...fromRunner].sort(), [...fromServer].sort());
    for (const p of [
      "tollgate-routing-follow-the-packet",
      "tollgate-routing-edge-table",
      "tollgate-gwlb-target-failover",
      "tollgate-gwlb-listener-idle-timeout",
      "tollgate-iam-managed-policy-allowlist",
    ]) {
      assert.ok(
        fromServer.some((k) => k.startsWith(`${p} |`)),
        `${p} missing from the served pack's diagnostics`,
      );
    }
    assert.ok(
      fromServer.some((k) =>
        /\| advisory \| can't run policy 'tollgate-exposure-launch-template-imdsv2'/.test(k),
      ),
      "unknown value not reported as can't-run",
    );
  });
});

describe("package entry", function () {
  this.timeout(30000);
  const entry = resolve(POLICY_DIR, "dist/entry.js");

  it("importing the library never starts the policy server", () => {
    const r = spawnSync(
      process.execPath,
      ["-e", `require(${JSON.stringify(entry)}); console.log("loaded")`],
      {
        cwd: POLICY_DIR,
        encoding: "utf8",
        timeout: 20000,
      },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), "loaded");
  });

  it("TOLLGATE_POLICY_SERVE=1 serves the pack (prints its port)", async () => {
    const child = spawn(process.execPath, ["-e", `require(${JSON.stringify(entry)})`], {
      cwd: POLICY_DIR,
      env: { ...process.env, TOLLGATE_POLICY_SERVE: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      const port = await new Promise<string>((ok, fail) => {
        const timer = setTimeout(() => fail(new Error("no port printed")), 20000);
        child.stdout?.on("data", (b: Buffer) => {
          const m = /^(\d+)\s*$/m.exec(b.toString());
          if (m?.[1]) {
            clearTimeout(timer);
            ok(m[1]);
          }
        });
        child.on("exit", (code) => fail(new Error(`exited with ${code}`)));
      });
      assert.ok(Number(port) > 0);
    } finally {
      child.kill("SIGKILL");
    }
  });
});
