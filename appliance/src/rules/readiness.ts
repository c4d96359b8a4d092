/**
 * The rule engine's readiness check, run at start-up and periodically by the rules listener
 * (health stage `rules-engine`): can the engine apply these rules now, and is what it applied
 * still in place? Nothing is changed.
 *
 * 1. The rules compile without errors, for the present endpoints or, before any exists, for a
 *    stand-in endpoint (`gwi-tgcheck`), so a file that cannot work fails before traffic arrives.
 * 2. The tools that write work on the compiled document: `iptables-restore --test --noflush`
 *    (and ip6tables-restore) parse it and load every match and target it uses, committing
 *    nothing; `tc` answers when the rules need it. (A scratch network namespace would need
 *    CAP_SYS_ADMIN, which the hardened unit does not grant.)
 * 3. The tools that read work and, with endpoints present, the kernel state equals the compiled
 *    rules (`plan` finds no change: the applied state is verified by read-back).
 */
import type { RulesEngine } from "./engine";
import { FAMILIES, type EndpointRef } from "./model";
import type { LoadedRules } from "./parse";
import { RESTORE, restoreDoc } from "./resources";
import { runChecked } from "../command";

/** Stand-in endpoint compiled when none exists yet (names only: nothing is applied to it). */
export const CHECK_ENDPOINT: EndpointRef = { gwi: "gwi-tgcheck", gwo: "gwo-tgcheck" };

/** What failed: "compile", "write tools", "read tools", or "drift". */
export type ReadinessStep = "compile" | "write tools" | "read tools" | "drift";

export type ReadinessResult =
  | { readonly ok: true; readonly ms: number }
  | {
      readonly ok: false;
      readonly step: ReadinessStep;
      readonly detail: string;
      readonly ms: number;
    };

export async function checkRulesReadiness(
  engine: RulesEngine,
  rules: LoadedRules,
  endpoints: readonly EndpointRef[],
): Promise<ReadinessResult> {
  const t0 = performance.now();
  const fail = (step: ReadinessStep, detail: string) =>
    ({ ok: false, step, detail, ms: performance.now() - t0 }) as const;
  let compiled;
  try {
    compiled = await engine.compile(rules, endpoints.length > 0 ? endpoints : [CHECK_ENDPOINT]);
  } catch (e) {
    return fail("compile", (e as Error).message);
  }
  if (compiled.errors.length > 0) return fail("compile", compiled.errors.join("; "));
  try {
    for (const fam of FAMILIES) {
      const doc = restoreDoc(compiled, fam);
      if (doc !== "") await runChecked(engine.runner, [RESTORE[fam], "--test", "--noflush"], doc);
    }
    if (compiled.tcSpecs.length > 0)
      await runChecked(engine.runner, ["tc", "-j", "qdisc", "show", "dev", "lo"]);
  } catch (e) {
    return fail("write tools", (e as Error).message);
  }
  let changes: number;
  let text: string;
  try {
    ({ changes, text } = await engine.plan(rules, endpoints));
  } catch (e) {
    return fail("read tools", (e as Error).message);
  }
  if (endpoints.length > 0 && changes !== 0) {
    const diff = text
      .split("\n")
      .filter((l) => /^ {2,4}[+~-] /.test(l))
      .slice(0, 3)
      .map((l) => l.trim());
    return fail("drift", `${changes} difference(s) from the applied rules: ${diff.join("; ")}`);
  }
  return { ok: true, ms: performance.now() - t0 };
}
