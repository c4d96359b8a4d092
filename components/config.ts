import * as pulumi from "@pulumi/pulumi";
import { fromPulumiForms, parseWith } from "./schema/parse";
import { RETIRED_KEYS, TollgateConfig, tollgateSchema, TollgateSettings } from "./schema/stack";

export type { TollgateConfig, TollgateSettings } from "./schema/stack";

/** Plain JSON-ish value as parsed from `Pulumi.<stack>.yaml` or `pulumi config get --json`. */
export type RawConfig = Readonly<Record<string, unknown>>;

/** Every top-level `tollgate:` key (from the schema). */
export const CONFIG_KEYS = Object.keys(tollgateSchema.shape) as readonly (keyof TollgateConfig)[];

/**
 * Reads the `tollgate:` config (keys without the namespace, values as parsed from YAML or as the
 * strings Pulumi stores) with the stack schema (components/schema/stack.ts): types, ranges,
 * unknown and retired keys, plain defaults. Rules across keys are checked by the resolvers.
 */
export function parseTollgateConfig(raw: RawConfig): TollgateSettings {
  return parseWith(tollgateSchema, fromPulumiForms(tollgateSchema, raw, ""), "", RETIRED_KEYS);
}

/** The raw `tollgate:` config of the running stack (values as Pulumi stores them: strings / JSON). */
export function rawPulumiConfig(project = "tollgate"): Record<string, unknown> {
  const all = pulumi.runtime.allConfig();
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(all)) {
    if (k.startsWith(`${project}:`)) out[k.slice(project.length + 1)] = v;
  }
  return out;
}
