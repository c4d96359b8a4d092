/**
 * The user data the stack deploys, the input it was rendered from and the objects it uploads: the
 * program runs under the plan's mocks with a real stack config and the real artifact source (the
 * release is built), and the renderer is observed (not replaced) while it does. The boot test then
 * renders that same input once more with only the S3 endpoint pointed at its stand-in, after
 * checking that the input reproduces the launch template's bytes exactly.
 */
import { strict as assert } from "node:assert";
import * as path from "node:path";
import type { ArtifactSource } from "@tollgate/components";
import * as userdata from "@tollgate/components";
import { captureStack } from "../../scripts/capture";
import { readStackConfig } from "../../scripts/plan";

/** The repository's example stack config (`Pulumi.dev.yaml`). */
export const EXAMPLE_STACK_CONFIG = path.join(__dirname, "..", "..", "..", "Pulumi.dev.yaml");

/** `Pulumi.dev.yaml` with `fleet` keys overridden (e.g. the AMI family under test). */
export function exampleConfig(fleet: Record<string, unknown>): Record<string, unknown> {
  const config = readStackConfig(EXAMPLE_STACK_CONFIG);
  return { ...config, fleet: { ...(config.fleet as Record<string, unknown>), ...fleet } };
}

export interface DeployedUserData {
  /** What `renderUserData` was called with while the stack was declared. */
  readonly input: userdata.UserDataInput;
  /** The launch template's user data, decoded. */
  readonly userData: string;
  /** What the GWLB's target group probes (port and path). */
  readonly healthCheck: { readonly port: number; readonly path: string };
  /** The S3 objects the stack uploads: key and local source file. */
  readonly objects: readonly { readonly key: string; readonly path: string }[];
}

/**
 * The loaded module that defines `renderUserData` (the package index only re-exports it through a
 * getter), so the renderer can be observed where the fleet calls it.
 */
function rendererModule(): { renderUserData: typeof userdata.renderUserData } {
  void userdata.renderUserData; // loaded
  const mod = Object.values(require.cache).find(
    (m) => Object.getOwnPropertyDescriptor(m?.exports ?? {}, "renderUserData")?.writable === true,
  );
  if (mod === undefined) throw new Error("the module defining renderUserData is not loaded");
  return mod.exports as { renderUserData: typeof userdata.renderUserData };
}

/** Declares the stack for `config` and returns its launch template's user data and input. */
export async function deployedUserData(
  config: Record<string, unknown>,
  artifacts: ArtifactSource,
): Promise<DeployedUserData> {
  const mod = rendererModule();
  const render = mod.renderUserData;
  const inputs: userdata.UserDataInput[] = [];
  mod.renderUserData = (input) => {
    inputs.push(input);
    return render(input);
  };
  let deployment;
  try {
    deployment = await captureStack({ config, artifacts });
  } finally {
    mod.renderUserData = render;
  }
  const templates = deployment.deployment.resources.filter(
    (r) => r.type === "aws:ec2/launchTemplate:LaunchTemplate",
  );
  assert.equal(templates.length, 1, "expected one appliance launch template");
  assert.equal(inputs.length, 1, "expected renderUserData to be called once");
  const userData = Buffer.from(String(templates[0]!.inputs.userData), "base64").toString("utf8");
  const input = inputs[0]!;
  assert.equal(render(input), userData, "the observed input must reproduce the deployed bytes");
  const groups = deployment.deployment.resources.filter(
    (r) => r.type === "aws:lb/targetGroup:TargetGroup",
  );
  assert.equal(groups.length, 1, "expected one GWLB target group");
  const hc = groups[0]!.inputs.healthCheck as { port: string | number; path: string };
  const objects = deployment.deployment.resources
    .filter((r) => r.type === "aws:s3/bucketObjectv2:BucketObjectv2")
    .map((r) => ({
      key: String(r.inputs.key),
      path: String((r.inputs.source as { path?: unknown } | undefined)?.path),
    }));
  return { input, userData, healthCheck: { port: Number(hc.port), path: hc.path }, objects };
}
