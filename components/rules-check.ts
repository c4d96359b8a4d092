import * as fs from "fs";
import * as path from "path";
import { formatProblem, validateRulesFile } from "@tollgate/appliance";
import { ConfigError, configError } from "./errors";
import { deliverableSuricata } from "./suricata";

/**
 * The delivered rules file, checked at plan / preview time with the appliance's own validation
 * pass (`validateRulesFile`: the daemon's parser and compiler, for every endpoint section the file
 * declares and a sample endpoint without one, the same pass as `tollgate rules check`), so a file
 * the daemon would refuse is never uploaded.
 */

const KEY = "tollgate:appliance.rulesFile";

/** Every problem the daemon would refuse `text` (named `name`) for, one line each. Pure. */
export function rulesFileProblems(text: string, name: string): string[] {
  return validateRulesFile(text, { file: name }).problems.map(formatProblem);
}

/** What the stack needs of the delivered rules file, from one read and one parse. */
export interface DeliveredRules {
  /** It has a `suricata:` section (checked against tollgate:fleet.amiFamily). */
  readonly suricata: boolean;
}

/**
 * Checks the rules file the stack delivers (`file` relative to `root`, the project directory),
 * read and parsed once; throws a {@link ConfigError} naming tollgate:appliance.rulesFile for a
 * missing file, for every problem the daemon would refuse it for (each with file:line:col and its
 * fix) and for what the stack cannot deliver (suricata.ruleFiles).
 */
export function checkRulesFile(file: string, root: string): DeliveredRules {
  const checked = validateRulesFile(readRulesText(file, root), { file });
  const problems = checked.problems.map(formatProblem);
  if (problems.length > 0) throw new ConfigError(problems.map((p) => `${KEY}: ${p}`));
  return { suricata: deliverableSuricata(file, checked.rules?.file.suricata) };
}

/** The text of the rules file (`file` relative to `root`); a ConfigError when it cannot be read. */
function readRulesText(file: string, root: string): string {
  const full = path.resolve(root, file);
  try {
    return fs.readFileSync(full, "utf8");
  } catch (e) {
    const why =
      (e as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : "cannot be read";
    throw configError(
      "appliance.rulesFile",
      `${file} ${why} (${full})`,
      "create it, or remove the key to deliver the default rules (examples/rules/default.yaml)",
    );
  }
}
