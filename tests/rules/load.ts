/** Parses a rules file body for tests; throws with the parser's errors when it is invalid. */
import { type LoadedRules, parseRules } from "@tollgate/appliance";

export function rules(yaml: string): LoadedRules {
  const r = parseRules(yaml, "t.yaml");
  if (!r.ok) throw new Error(r.errors.join("\n"));
  return r.rules;
}
