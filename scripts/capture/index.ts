/**
 * Shared capture helper: runs the Tollgate program in-process under `pulumi.runtime.setMocks` and
 * returns what it declared in the shape of `pulumi stack export` (deployment v3), including each
 * resource's parent, dependencies and property dependencies. Used by `npm run plan`, the component
 * tests and the policy tests.
 */
import * as pulumi from "@pulumi/pulumi";
import * as settings from "@pulumi/pulumi/runtime/settings";
import { main, fakeArtifactSource, type ArtifactSource } from "@tollgate/components";
import { MockFacts, mockCall, mockResource } from "./mocks";

export { EXAMPLE_CONFIGS } from "./examples";
export { MOCK_REGION_AZS, regionAzs } from "./mocks";

/** One resource of a deployment, as `pulumi stack export` writes it. */
export interface ResourceV3 {
  urn: string;
  custom: boolean;
  id?: string;
  type: string;
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
  parent?: string;
  provider?: string;
  dependencies?: string[];
  propertyDependencies?: Record<string, string[]>;
}

/** `pulumi stack export` output (version 3). */
export interface DeploymentV3 {
  version: 3;
  deployment: {
    manifest: {
      time: string;
      magic: string;
      version: string;
      plugins?: { name: string; type: string; version: string }[];
    };
    resources: ResourceV3[];
  };
}

export interface CaptureOptions {
  /** `tollgate:` config keys without the namespace (values as parsed from YAML); keys with a `:` (e.g. `aws:region`) are taken as is. */
  config: Record<string, unknown>;
  /** Stack name. Defaults to `dev`. */
  stack?: string;
  /** Project name. Defaults to `tollgate`. */
  project?: string;
  /** Run as a preview. Defaults to false. */
  preview?: boolean;
  /** Produces the uploaded artifacts. Defaults to {@link fakeArtifactSource} (names only). */
  artifacts?: ArtifactSource;
  /**
   * The program to run. Defaults to the Tollgate program (`main` with `artifacts`); a program
   * built from the components on their own (e.g. examples/awsx-vpc) returns its stack outputs.
   */
  program?: () => Promise<Record<string, unknown>>;
  /** The project directory (`tollgate:appliance.rulesFile` is relative to it). Defaults to the working directory. */
  root?: string;
}

/** Account id the mocks use (the AWS documentation example account). */
export const MOCK_ACCOUNT_ID = "123456789012";
const AWS_VERSION = "7.48.0";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17";
const SIG_KEY = "4dabf18193072939515e22adb298388d";

/** Turns deserialized mock inputs (assets, secrets, resource refs) into plain JSON as the export shows them. */
function toJson(v: unknown): unknown {
  if (v === null || v === undefined) return v;
  if (Array.isArray(v)) return v.map(toJson);
  if (typeof v !== "object") return v;
  if (pulumi.asset.Asset.isInstance(v) || pulumi.asset.Archive.isInstance(v)) {
    const a = v as unknown as Record<string, unknown>;
    const out: Record<string, unknown> = { [SIG_KEY]: ASSET_SIG };
    for (const k of ["path", "text", "uri"]) {
      const val = a[k];
      if (val !== undefined) out[k] = val instanceof Promise ? undefined : val;
    }
    return out;
  }
  const o = v as Record<string, unknown>;
  if (o[SIG_KEY] === SECRET_SIG)
    return { [SIG_KEY]: SECRET_SIG, plaintext: JSON.stringify(toJson(o.value)) };
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(o)) {
    if (val !== undefined) out[k] = toJson(val);
  }
  return out;
}

/** Resolves assets' path promises (FileAsset keeps `path` as a Promise). */
async function settle(v: unknown): Promise<unknown> {
  if (v instanceof Promise) return settle(await v);
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return Promise.all(v.map(settle));
  const o = v as Record<string, unknown>;
  const out: Record<string, unknown> =
    pulumi.asset.Asset.isInstance(v) || pulumi.asset.Archive.isInstance(v)
      ? Object.create(Object.getPrototypeOf(v))
      : {};
  for (const [k, val] of Object.entries(o)) out[k] = await settle(val);
  return out;
}

interface Recorded {
  urn: string;
  type: string;
  name: string;
  custom: boolean;
  id?: string;
  parent?: string;
  provider?: string;
  dependencies: string[];
  propertyDependencies: Record<string, string[]>;
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
}

let queue: Promise<unknown> = Promise.resolve();

/** Flattens capture options into the `project:key` -> string map Pulumi keeps config in. */
export function flattenConfig(
  config: Record<string, unknown>,
  project: string,
): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) {
    if (v === undefined) continue;
    const key = k.includes(":") ? k : `${project}:${k}`;
    flat[key] = typeof v === "string" ? v : JSON.stringify(v);
  }
  return flat;
}

/**
 * Runs the program under mocks with `config` and returns the deployment. Captures are serialized
 * (the Pulumi runtime is process-global). A bad config rejects with the program's ConfigError.
 */
export function captureStack(options: CaptureOptions): Promise<DeploymentV3> {
  const run = queue.then(() => withShortStacks(() => captureOnce(options)));
  queue = run.catch(() => undefined);
  return run;
}

/**
 * The Pulumi SDK records `new Error().stack` for every promise and resource it creates; formatting
 * those traces dominates a mocked run. During a capture the limit is 0 (set
 * TOLLGATE_CAPTURE_STACK_LIMIT to keep traces when debugging the program itself).
 */
async function withShortStacks<T>(fn: () => Promise<T>): Promise<T> {
  const saved = Error.stackTraceLimit;
  Error.stackTraceLimit = Number(process.env.TOLLGATE_CAPTURE_STACK_LIMIT ?? 0);
  try {
    return await fn();
  } finally {
    Error.stackTraceLimit = saved;
  }
}

async function captureOnce(options: CaptureOptions): Promise<DeploymentV3> {
  const project = options.project ?? "tollgate";
  const stack = options.stack ?? "dev";
  const region =
    typeof options.config["aws:region"] === "string"
      ? (options.config["aws:region"] as string)
      : "us-east-1";
  const facts: MockFacts = { region, accountId: MOCK_ACCOUNT_ID, partition: "aws" };
  pulumi.runtime.setAllConfig(flattenConfig(options.config, project));

  const records: Recorded[] = [];
  const byUrn = new Map<string, Recorded>();
  const pending = new Map<string, Partial<Recorded>>();
  // Inputs and state as the mocks saw them, keyed by type and name (names are unique per type).
  const seen = new Map<
    string,
    { inputs: Record<string, unknown>; outputs: Record<string, unknown> }
  >();
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        const result = mockResource(args, facts);
        seen.set(`${args.type}::${args.name}`, {
          inputs: args.inputs as Record<string, unknown>,
          outputs: result.state,
        });
        return result;
      },
      call: (args) => mockCall(args, facts),
    },
    project,
    stack,
    options.preview ?? false,
    "organization",
  );

  // The mock monitor does not hand parent and dependencies to `newResource`; read them from the
  // RegisterResourceRequest itself.
  const monitor = settings.getMonitor() as unknown as {
    registerResource(
      req: RegisterRequest,
      cb: (err: unknown, resp: RegisterResponse | undefined) => void,
    ): Promise<void>;
    registerResourceOutputs(req: OutputsRequest, cb: (err: unknown, resp: unknown) => void): void;
  };
  const origRegister = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) =>
    origRegister(req, (err, resp) => {
      if (!err && resp) {
        const propertyDependencies: Record<string, string[]> = {};
        req.getPropertydependenciesMap().forEach((deps, key) => {
          propertyDependencies[key] = deps.getUrnsList();
        });
        const mocked = seen.get(`${req.getType()}::${req.getName()}`);
        seen.delete(`${req.getType()}::${req.getName()}`);
        const rec: Recorded = {
          urn: resp.getUrn(),
          type: req.getType(),
          name: req.getName(),
          custom: req.getCustom(),
          id: req.getCustom() ? resp.getId() : undefined,
          parent: req.getParent() || undefined,
          provider: req.getProvider() || undefined,
          dependencies: req.getDependenciesList(),
          propertyDependencies,
          inputs:
            mocked?.inputs ??
            ((pulumi.runtime.deserializeProperties(req.getObject()) ?? {}) as Record<
              string,
              unknown
            >),
          outputs: req.getCustom() ? (mocked?.outputs ?? {}) : {},
        };
        Object.assign(rec, pending.get(rec.urn) ?? {});
        records.push(rec);
        byUrn.set(rec.urn, rec);
      }
      cb(err, resp);
    });
  const origOutputs = monitor.registerResourceOutputs.bind(monitor);
  monitor.registerResourceOutputs = (req, cb) => {
    const outs = (pulumi.runtime.deserializeProperties(req.getOutputs()) ?? {}) as Record<
      string,
      unknown
    >;
    const rec = byUrn.get(req.getUrn());
    if (rec) rec.outputs = outs;
    else pending.set(req.getUrn(), { outputs: outs });
    origOutputs(req, cb);
  };

  const stackOutputs = await (options.program
    ? options.program()
    : main({
        artifacts: options.artifacts ?? fakeArtifactSource(),
        root: options.root,
        // The plan prints the region and AZs in its header; under mocks pulumi.log writes to stdout.
        announce: () => undefined,
      }));
  // Output#promise (internal API) also rejects when any output failed, so a broken program fails
  // the capture instead of hanging it.
  const all = pulumi.output(stackOutputs) as unknown as {
    promise(withUnknowns?: boolean): Promise<unknown>;
  };
  const resolvedOutputs = await all.promise(true);
  await (settings as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
  return toDeployment(records, project, stack, resolvedOutputs as Record<string, unknown>, facts);
}

type PbStruct = Parameters<typeof pulumi.runtime.deserializeProperties>[0];

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getProvider(): string;
  getObject(): PbStruct;
  getDependenciesList(): string[];
  getPropertydependenciesMap(): {
    forEach(cb: (deps: { getUrnsList(): string[] }, key: string) => void): void;
  };
}
interface RegisterResponse {
  getUrn(): string;
  getId(): string;
  getObject(): PbStruct;
}
interface OutputsRequest {
  getUrn(): string;
  getOutputs(): PbStruct;
}

async function toDeployment(
  records: Recorded[],
  project: string,
  stack: string,
  stackOutputs: Record<string, unknown>,
  facts: MockFacts,
): Promise<DeploymentV3> {
  const stackUrn = `urn:pulumi:${stack}::${project}::pulumi:pulumi:Stack::${project}-${stack}`;
  const providerUrn = `urn:pulumi:${stack}::${project}::pulumi:providers:aws::default_${AWS_VERSION.replace(/\./g, "_")}`;
  const providerId = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
  const resources: ResourceV3[] = [
    {
      urn: stackUrn,
      custom: false,
      type: "pulumi:pulumi:Stack",
      inputs: {},
      outputs: toJson(stackOutputs) as Record<string, unknown>,
    },
    {
      urn: providerUrn,
      custom: true,
      id: providerId,
      type: "pulumi:providers:aws",
      inputs: { region: facts.region, version: AWS_VERSION },
      outputs: { region: facts.region, version: AWS_VERSION },
    },
  ];
  for (const r of records) {
    const inputs = toJson(await settle(r.inputs)) as Record<string, unknown>;
    const outputs = toJson(await settle(r.outputs)) as Record<string, unknown>;
    const res: ResourceV3 = {
      urn: r.urn,
      custom: r.custom,
      ...(r.custom ? { id: r.id } : {}),
      type: r.type,
      inputs,
      outputs,
      parent: r.parent ?? stackUrn,
      ...(r.custom ? { provider: r.provider ?? `${providerUrn}::${providerId}` } : {}),
      dependencies: [...new Set(r.dependencies)],
      propertyDependencies: r.propertyDependencies,
    };
    resources.push(res);
  }
  return {
    version: 3,
    deployment: {
      manifest: {
        time: "2026-01-01T00:00:00.000Z",
        magic: "tollgate-mock-capture",
        version: "v3.270.0",
        plugins: [{ name: "aws", type: "resource", version: AWS_VERSION }],
      },
      resources,
    },
  };
}
