import * as fs from "fs";
import * as path from "path";
import { formatProblem, validateRulesFile } from "@tollgate/appliance";
import { ConfigError, configError } from "./errors";

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

/**
 * Checks the rules file the stack delivers (`file` relative to `root`, the project directory);
 * throws a {@link ConfigError} naming tollgate:appliance.rulesFile for a missing file and for every
 * problem the daemon would refuse it for (each with file:line:col and its fix).
 */
export function checkRulesFile(file: string, root: string): void {
  const full = path.resolve(root, file);
  let text: string;
  try {
    text = fs.readFileSync(full, "utf8");
  } catch (e) {
    const why =
      (e as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : "cannot be read";
    throw configError(
      "appliance.rulesFile",
      `${file} ${why} (${full})`,
      "create it, or remove the key to deliver the default rules (examples/rules/default.yaml)",
    );
  }
  const problems = rulesFileProblems(text, file);
  if (problems.length > 0) throw new ConfigError(problems.map((p) => `${KEY}: ${p}`));
}
