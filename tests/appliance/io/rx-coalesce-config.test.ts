/** The receive-coalescing knob: default, file, command line and validation. */
import { strict as assert } from "node:assert";
import { ConfigError, DEFAULT_CONFIG, resolveConfig } from "@tollgate/appliance";

describe("receive coalescing configuration", () => {
  it("defaults to 100 us", () => {
    assert.equal(DEFAULT_CONFIG.rxCoalesceUs, 100);
    assert.equal(resolveConfig([]).rxCoalesceUs, 100);
  });

  it("merges defaults < file < command line; 0 turns it off", () => {
    assert.equal(resolveConfig(["--config", "t.yaml"], "rxCoalesceUs: 40\n").rxCoalesceUs, 40);
    assert.equal(
      resolveConfig(["--config", "t.yaml", "--rx-coalesce-us", "0"], "rxCoalesceUs: 40\n")
        .rxCoalesceUs,
      0,
    );
  });

  it("refuses values outside 0-10000 or not whole numbers, naming the option", () => {
    for (const bad of ["-1", "10001", "1.5", "fast"]) {
      assert.throws(
        () => resolveConfig(["--rx-coalesce-us", bad]),
        (err: unknown) =>
          err instanceof ConfigError && err.problems.some((p) => p.includes("--rx-coalesce-us")),
        bad,
      );
    }
  });
});
