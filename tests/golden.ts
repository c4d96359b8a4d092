/** Golden-file comparison: `UPDATE_GOLDEN=1` (or a missing file) writes `actual` instead. */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";

export function assertGolden(golden: string, actual: string): void {
  if (process.env.UPDATE_GOLDEN === "1" || !fs.existsSync(golden)) {
    fs.mkdirSync(path.dirname(golden), { recursive: true });
    fs.writeFileSync(golden, actual);
    if (process.env.UPDATE_GOLDEN !== "1") assert.fail(`created ${golden}; review it and re-run`);
  }
  assert.equal(actual, fs.readFileSync(golden, "utf8"));
}
