/**
 * The one validation pass of a rules file, without an endpoint, a kernel or root: parse and
 * validate (every problem at once, see parse.ts), then compile with the daemon's own compiler
 * for every endpoint section the file declares and for a sample endpoint without a section (what
 * any other endpoint gets), with the u32 classifiers and with flower/matchall. `tollgate rules
 * check`, `npm run plan` and `pulumi preview` all call {@link validateRulesFile}.
 */
import { compileRules } from "./compile";
import {
  MINIMAL_CAPABILITIES,
  type Capabilities,
  type CompiledRuleset,
  type EndpointRef,
} from "./model";
import { locate, parseRules, resolveEndpointKey, type LoadedRules } from "./parse";
import type { Finding, PathItem, RulesProblem } from "./problems";
import { endpointsNeedingUplink, UPLINK_KEY } from "./uplink";
import { parseLocatedYaml } from "../yaml-location";

/** The endpoint `rules check`/`plan` compile for when none is given: it has no section. */
export const SAMPLE_ENDPOINT_KEY = "vpce-00000000000000001";

/** What an EC2 kernel offers (flower, matchall): the compiler's other classifier choices. */
const FULL_CAPABILITIES: Capabilities = {
  ...MINIMAL_CAPABILITIES,
  flower: true,
  matchall: true,
  gact: true,
};

/** The uplink name validation compiles with when egress-nat names none (the instance decides). */
const ASSUMED_UPLINK = "default-route";

export interface RulesValidationOptions {
  /** The file's name in problems (usually its path). */
  readonly file: string;
  /** Also compile for these endpoints (`--endpoint`: vpce-<hex17>, <hex17>, gwi-<id>). */
  readonly endpoints?: readonly string[];
}

export interface RulesValidation {
  /** Every problem, in file order, each with file:line:col, what is wrong and the fix. */
  readonly problems: readonly RulesProblem[];
  /** What the pass covered, one line each (printed by `rules check`). */
  readonly checked: readonly string[];
  /** Remarks of the compiler worth showing (modes that fall back, egress-nat uplink). */
  readonly notes: readonly string[];
  /** The validated rules; undefined when the file does not parse or validate. */
  readonly rules?: LoadedRules;
  /** The endpoints compiled for, the sample one last. */
  readonly compiledFor: readonly EndpointRef[];
  /** The compiled rules (u32 classifiers) for `compiledFor`, when the file validates. */
  readonly compiled?: CompiledRuleset;
}

/** The sample endpoint: `SAMPLE_ENDPOINT_KEY` unless the file has a section for it. */
export function sampleEndpoint(loaded: LoadedRules | undefined): EndpointRef & { key: string } {
  for (let n = 1n; ; n++) {
    const key = `vpce-${n.toString(16).padStart(17, "0")}`;
    const r = resolveEndpointKey(key)!;
    if (!loaded?.endpoints.has(r.gwi)) return { key, gwi: r.gwi, gwo: r.gwo };
  }
}

/** Endpoint refs of `--endpoint` ids; throws naming the bad one. */
export function endpointRefs(keys: readonly string[] | undefined): EndpointRef[] {
  return (keys ?? []).map((k) => {
    const r = resolveEndpointKey(k);
    if (!r) throw new Error(`--endpoint ${k}: not an endpoint (vpce-<hex17>, <hex17>, gwi-<id>)`);
    return { gwi: r.gwi, gwo: r.gwo };
  });
}

/** The rules with an assumed uplink where egress-nat names none (resolved on the instance). */
function withAssumedUplink(loaded: LoadedRules, refs: readonly EndpointRef[]): LoadedRules {
  if (endpointsNeedingUplink(loaded, refs).length === 0) return loaded;
  const defaults = { ...loaded.file.defaults, egressInterface: ASSUMED_UPLINK };
  return { ...loaded, file: { ...loaded.file, defaults } };
}

/** Path items of a compiler message's leading `rules[2]` / `endpoints.K.rules[0]` / `K`. */
function compilerPath(prefix: string, loaded: LoadedRules): PathItem[] | undefined {
  if (/^(rules\[\d+\]|endpoints\.[^.\s]+(\.rules\[\d+\])?)$/.test(prefix))
    return prefix
      .split(/[.[\]]+/)
      .filter((p) => p !== "")
      .map((p): PathItem => (/^\d+$/.test(p) ? Number(p) : p));
  const section = [...loaded.endpoints.values()].find((e) => e.key === prefix || e.gwi === prefix);
  return section ? ["endpoints", section.key] : undefined;
}

/** A compiler error as a finding, at the rule or section it names (the file otherwise). */
function compilerFinding(error: string, loaded: LoadedRules, sample: EndpointRef): Finding {
  const [prefix = "", ...rest] = error.split(": ");
  const path = compilerPath(prefix, loaded);
  const fix = "the daemon's compiler refuses this; see docs/rules.md";
  if (path) return { path, message: rest.join(": "), fix };
  if (prefix !== sample.gwi) return { path: [], message: error, fix };
  const where = loaded.file.rules ? ["rules"] : [];
  return { path: where, message: `for endpoints without a section: ${rest.join(": ")}`, fix };
}

function modesOf(loaded: LoadedRules, refs: readonly EndpointRef[]): string {
  const d = loaded.file.defaults?.mode ?? "inspect";
  const modes = refs.map((r) => loaded.endpoints.get(r.gwi)?.section.mode ?? d);
  return [...new Set(modes)].sort().join(", ");
}

/**
 * Validates a rules file's text: every problem at once (schema, sets and where they may be used,
 * CIDRs and host bits, ports and ranges, endpoint keys, direction without protected CIDRs), then
 * compiles it with the daemon's compiler for every endpoint section and a sample endpoint, in
 * both classifier variants. Pure: no I/O, no root. An empty `problems` means the daemon accepts
 * the file (what it cannot know here: the instance's uplink for egress-nat and its kernel).
 */
export function validateRulesFile(text: string, opts: RulesValidationOptions): RulesValidation {
  const checked = [
    "YAML syntax, keys and values against the schema (docs/rules.md)",
    "set references and where sets may be used, CIDRs (no host bits), ports and ranges",
  ];
  const parsed = parseRules(text, opts.file);
  if (!parsed.ok) {
    checked.push("not compiled: the daemon's compiler runs once these problems are fixed");
    return { problems: parsed.problems, checked, notes: [], compiledFor: [] };
  }
  const loaded = parsed.rules;
  const sample = sampleEndpoint(loaded);
  const declared = [...loaded.endpoints.values()].map(({ gwi, gwo }) => ({ gwi, gwo }));
  const extra = endpointRefs(opts.endpoints).filter((r) => !loaded.endpoints.has(r.gwi));
  const refs = [...declared, ...extra, { gwi: sample.gwi, gwo: sample.gwo }];
  const compilable = withAssumedUplink(loaded, refs);
  const variants = [MINIMAL_CAPABILITIES, FULL_CAPABILITIES].map((caps) =>
    compileRules(compilable, refs, caps),
  );
  const compiled = variants[0];
  const errors = new Set(variants.flatMap((c) => c.errors));
  const located = parseLocatedYaml(text, opts.file);
  const problems = [...errors].map((e) =>
    locate(compilerFinding(e, loaded, sample), located, opts.file),
  );
  checked.push(
    `compiled with the daemon's compiler for ${declared.length} endpoint section(s), ${extra.length} --endpoint(s) and a sample endpoint without a section (${sample.key}); modes: ${modesOf(loaded, refs)}; tc classifiers u32 and flower/matchall`,
  );
  const notes =
    compilable === loaded
      ? []
      : [
          `egress-nat without egressInterface: the appliance masquerades on the interface of its IPv4 default route, found when it applies (set ${UPLINK_KEY} to choose)`,
        ];
  return { problems, checked, notes, rules: loaded, compiledFor: refs, compiled };
}
