/**
 * Reads the files `tollgate-policy check` accepts and turns them into deployment resources:
 * `pulumi stack export` (deployment version 3), `npm run plan -- --json` (same shape) and
 * `pulumi preview --json` (steps[].newState). Validation is strict and errors name the problem.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import type { StateResource } from "./runner";

export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InputError";
  }
}

export type InputKind = "stack export" | "preview";

export interface ParsedInput {
  readonly kind: InputKind;
  readonly resources: StateResource[];
}

const record = z.record(z.string(), z.unknown());
const resourceSchema = z.looseObject({
  urn: z.string().startsWith("urn:pulumi:", { message: 'must be a Pulumi URN ("urn:pulumi:...")' }),
  type: z.string().min(1),
  custom: z.boolean().optional(),
  id: z.string().optional(),
  inputs: record.optional(),
  outputs: record.optional(),
  parent: z.string().optional(),
  provider: z.string().optional(),
  dependencies: z.array(z.string()).optional(),
  propertyDependencies: z.record(z.string(), z.array(z.string())).optional(),
  protect: z.boolean().optional(),
  delete: z.boolean().optional(),
});

const exportSchema = z.object({
  version: z.literal(3),
  deployment: z.looseObject({
    manifest: z.unknown().optional(),
    resources: z.array(resourceSchema).optional(),
  }),
});

const previewSchema = z.looseObject({
  steps: z.array(
    z.looseObject({
      op: z.string(),
      urn: z.string().optional(),
      newState: resourceSchema.optional(),
    }),
  ),
});

const SKIPPED_OPS = new Set([
  "delete",
  "delete-replaced",
  "discard",
  "discard-replaced",
  "remove-pending-replace",
]);

function describeIssues(error: z.ZodError, what: string): string {
  const lines = error.issues.slice(0, 5).map((i) => {
    const path = i.path.length
      ? i.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("")
      : "(root)";
    return `  ${path.replace(/^\./, "")}: ${i.message}`;
  });
  const more =
    error.issues.length > 5 ? `\n  ... and ${error.issues.length - 5} more problems` : "";
  return `${what}:\n${lines.join("\n")}${more}`;
}

/** Parses already-read JSON text. */
export function parseInput(text: string, source = "input"): ParsedInput {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new InputError(
      `${source} is not JSON (${(e as Error).message}). Expected the output of \`pulumi stack export\`, \`pulumi preview --json\` or \`npm run plan -- --json\`.`,
    );
  }
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new InputError(
      `${source} must hold a JSON object (a stack export or a preview), not ${Array.isArray(data) ? "an array" : typeof data}.`,
    );
  }
  const obj = data as Record<string, unknown>;
  if ("steps" in obj) {
    const parsed = previewSchema.safeParse(obj);
    if (!parsed.success)
      throw new InputError(
        describeIssues(
          parsed.error,
          `${source} looks like \`pulumi preview --json\` output but is malformed`,
        ),
      );
    const resources: StateResource[] = [];
    for (const step of parsed.data.steps) {
      if (SKIPPED_OPS.has(step.op) || !step.newState) continue;
      // A preview's planned state may carry no outputs for resources it would create; bridged
      // providers' outputs always include the inputs, so fall back to them.
      const ns = step.newState as StateResource;
      resources.push({ ...ns, outputs: { ...(ns.inputs ?? {}), ...(ns.outputs ?? {}) } });
    }
    return { kind: "preview", resources };
  }
  if ("deployment" in obj || "version" in obj) {
    if (obj.version !== 3) {
      throw new InputError(
        obj.version === undefined
          ? `${source} has a deployment but no "version"; expected a \`pulumi stack export\` file with "version": 3.`
          : `${source} is a deployment of version ${JSON.stringify(obj.version)}; only version 3 (current \`pulumi stack export\`) is supported.`,
      );
    }
    const parsed = exportSchema.safeParse(obj);
    if (!parsed.success)
      throw new InputError(describeIssues(parsed.error, `${source} is not a valid deployment`));
    return {
      kind: "stack export",
      resources: (parsed.data.deployment.resources ?? []) as StateResource[],
    };
  }
  throw new InputError(
    `${source} is neither a stack export (no "version"/"deployment") nor a preview (no "steps"). Produce it with \`pulumi stack export\`, \`pulumi preview --json\` or \`npm run plan -- --json\`.`,
  );
}

/** Reads and parses a file; every failure is an InputError with a readable message. */
export function readInput(path: string): ParsedInput {
  let text: string;
  try {
    text = readFileSync(path === "-" ? 0 : path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(
      code === "ENOENT"
        ? `cannot read ${path}: no such file`
        : code === "EISDIR"
          ? `cannot read ${path}: it is a directory`
          : `cannot read ${path}: ${(e as Error).message}`,
    );
  }
  return parseInput(text, path === "-" ? "standard input" : path);
}

/** Reads a policy config file (the `--policy-pack-config` format). */
export function readConfig(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new InputError(
      `cannot read policy config ${path}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`,
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new InputError(`policy config ${path} is not JSON (${(e as Error).message}).`);
  }
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new InputError(
      `policy config ${path} must be a JSON object mapping policy names to levels or settings.`,
    );
  }
  return data as Record<string, unknown>;
}
