/** The health knobs (grace, rule engine check period, canary interval and failures): YAML, flags, errors. */
import { strict as assert } from "node:assert";
import { evaluatorSettings, resolveConfig } from "@tollgate/appliance";
import { problems } from "../helpers/config-problems";

describe("health configuration", () => {
  it("defaults: canary every 1 s, 3 lost fail; rule engine check every 5 s; grace 10 s", () => {
    const h = resolveConfig([]).health;
    assert.deepEqual(
      [h.canary.intervalSeconds, h.canary.failures, h.verifyIntervalSeconds, h.graceSeconds],
      [1, 3, 5, 10],
    );
  });

  it("reads health.canary, health.verifyInterval and health.grace; flags override", () => {
    const yaml = [
      "health:",
      "  grace: 20",
      "  verifyInterval: 2",
      "  canary: { interval: 0.5, failures: 4 }",
    ].join("\n");
    let h = resolveConfig(["--config", "t.yaml"], yaml).health;
    assert.deepEqual(
      [h.canary.intervalSeconds, h.canary.failures, h.verifyIntervalSeconds, h.graceSeconds],
      [0.5, 4, 2, 20],
    );
    h = resolveConfig(
      [
        "--config",
        "t.yaml",
        "--canary-interval",
        "2",
        "--canary-failures",
        "5",
        "--health-verify-interval",
        "10",
        "--health-grace",
        "0",
      ],
      yaml,
    ).health;
    assert.deepEqual(
      [h.canary.intervalSeconds, h.canary.failures, h.verifyIntervalSeconds, h.graceSeconds],
      [2, 5, 10, 0],
    );
  });

  it("names the key or flag of a bad value", () => {
    const p = problems(() =>
      resolveConfig([
        "--canary-interval",
        "0",
        "--canary-failures",
        "1.5",
        "--health-verify-interval",
        "0",
      ]),
    );
    assert.deepEqual(p, [
      '--health-verify-interval: expected a number from 1 to 3600, got "0"',
      '--canary-interval: expected a number from 0.1 to 60, got "0"',
      '--canary-failures: expected an integer from 1 to 100, got "1.5"',
    ]);
    const y = problems(() =>
      resolveConfig(
        ["--config", "t.yaml"],
        "health:\n  canary: { interval: 0, failures: 0, every: 1 }\n",
      ),
    );
    assert.equal(y.length, 3, y.join("\n"));
    assert.ok(
      y.some((x) => /^t\.yaml:2:\d+: health\.canary\.interval: /.test(x)),
      y.join("\n"),
    );
    assert.ok(
      y.some((x) => /^t\.yaml:2:\d+: health\.canary\.failures: /.test(x)),
      y.join("\n"),
    );
    assert.ok(
      y.some((x) => /health\.canary\.every: unknown key$/.test(x)),
      y.join("\n"),
    );
  });
});

describe("health.minPackets", () => {
  it("defaults to 20, YAML and --health-min-packets set it, and the verdict uses it", () => {
    assert.equal(resolveConfig([]).health.minPackets, 20);
    const c = resolveConfig(["--config", "t.yaml"], "health:\n  minPackets: 5\n");
    assert.equal(c.health.minPackets, 5);
    assert.equal(resolveConfig(["--health-min-packets", "7"]).health.minPackets, 7);
    assert.equal(evaluatorSettings(c).minPackets, 5);
    assert.deepEqual(
      problems(() => resolveConfig(["--health-min-packets", "0"])),
      ['--health-min-packets: expected an integer from 1 to 1000000, got "0"'],
    );
  });
});
