import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseRules } from "@tollgate/appliance";
import {
  BENCH_SID_BASE,
  benchRulesFiles,
  generateSignatures,
  writeBenchFiles,
} from "@tollgate/testbed";

function hasSuricata(): boolean {
  try {
    execFileSync("suricata", ["-V"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe("bench:ids rules files", () => {
  it("generates the same signatures for the same seed, with unique sids outside Tollgate's range", () => {
    const a = generateSignatures(3000);
    assert.deepEqual(a, generateSignatures(3000));
    const sids = a.map((s) => Number(/sid:(\d+);/.exec(s)?.[1]));
    assert.equal(new Set(sids).size, 3000);
    assert.equal(Math.min(...sids), BENCH_SID_BASE);
    const protocols = new Set(a.map((s) => s.split(" ")[1]));
    assert.deepEqual([...protocols].sort(), ["dns", "http", "icmp", "tcp", "tls", "udp"]);
  });

  it("the two rules files differ only by the suricata: section, and both are valid", () => {
    const { plain, ips } = benchRulesFiles(50);
    assert.ok(ips.startsWith(plain));
    for (const [name, text] of [
      ["plain.yaml", plain],
      ["ips.yaml", ips],
    ] as const) {
      const r = parseRules(text, name);
      assert.ok(r.ok, JSON.stringify(r));
    }
  });

  it("Suricata loads the generated signatures (suricata -T)", function () {
    if (!hasSuricata()) {
      if (process.env.CI) assert.fail("suricata missing: bash scripts/system-deps.sh --install");
      this.skip();
    }
    this.timeout(60000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tg-ids-bench-"));
    try {
      writeBenchFiles(dir, 3000, 50);
      const out = execFileSync(
        "suricata",
        [
          "-T",
          "-S",
          path.join(dir, "bench.rules"),
          "-l",
          dir,
          "--set",
          "logging.outputs.0.console.enabled=yes",
        ],
        { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
      );
      assert.match(out, /successfully loaded/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
