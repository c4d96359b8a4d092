import * as awsConfig from "@pulumi/aws/config";
import * as pulumi from "@pulumi/pulumi";
import { collecting, problemAt } from "./errors";
import { closest, fromPulumiForms, parseWith } from "./schema/parse";
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

/** AWS provider settings (`aws:<key>`), from @pulumi/aws's config module. */
export const AWS_CONFIG_KEYS: readonly string[] = Object.keys(awsConfig).filter(
  (k) => k !== "requireRegion" && k !== "default",
);

/**
 * Checks the namespaces and `aws:` keys of the whole stack config (`all`: `namespace:key` ->
 * value, as `pulumi.runtime.allConfig()` gives it): the program reads `<project>:` (the typed
 * Tollgate config, checked by the schema), `aws:` (provider settings) and `pulumi:` keys; any other
 * namespace or an unknown `aws:` key is a typo that would be ignored. Throws one ConfigError listing
 * every such key with a "did you mean".
 */
export function checkConfigNamespaces(
  all: Readonly<Record<string, unknown>>,
  project: string,
): void {
  collecting((p) => {
    for (const full of Object.keys(all)) {
      const at = full.indexOf(":");
      const ns = at < 0 ? "" : full.slice(0, at);
      const key = full.slice(at + 1);
      if (ns === project || ns === "pulumi") continue;
      if (ns === "aws") {
        if (AWS_CONFIG_KEYS.includes(key)) continue;
        const near = closest(key, AWS_CONFIG_KEYS);
        p.add(
          problemAt(
            full,
            "is not an AWS provider setting",
            near !== undefined
              ? `did you mean aws:${near}?`
              : "see the aws provider's configuration reference",
          ),
        );
        continue;
      }
      const nearNs = at < 0 ? project : closest(ns, [project, "aws"]);
      const nearKey =
        nearNs === project
          ? (closest(key, CONFIG_KEYS) ?? key)
          : nearNs === "aws"
            ? (closest(key, AWS_CONFIG_KEYS) ?? key)
            : undefined;
      p.add(
        problemAt(
          full,
          at < 0
            ? "has no namespace, so no program reads it"
            : `namespace ${ns}: is not read by this program (it reads ${project}:, aws: and pulumi: keys)`,
          nearKey !== undefined
            ? `did you mean ${nearNs}:${nearKey}?`
            : `write it as ${project}:<key> (docs/configuration.md) or aws:<key>`,
        ),
      );
    }
  });
}
