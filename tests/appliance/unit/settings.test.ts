/** The settings table (appliance/src/config/schema.ts) is the one source of the docs, the example and --help. */
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import {
  buildProgram,
  DEFAULT_CONFIG,
  parseConfigFile,
  resolveConfig,
  RUN_OPTIONS,
  settingLeaves,
  settingsDocs,
  withGeneratedBlocks,
} from "@tollgate/appliance";

const root = path.resolve(__dirname, "../../../..");

describe("settings table", () => {
  it("the README's reference tables are the rendered table (run `npm run docs:appliance`)", () => {
    const readme = readFileSync(path.join(root, "appliance/README.md"), "utf8");
    assert.equal(withGeneratedBlocks(readme, settingsDocs()), readme);
  });

  it("the example config names every key and is valid", () => {
    const example = readFileSync(
      path.join(root, "appliance/systemd/tollgate.example.yaml"),
      "utf8",
    );
    assert.ok(parseConfigFile(example, "example").ok);
    // Every key appears, as a key or in a commented-out example line ("# rules: ...").
    const keys = new Set<string>();
    const stack: string[] = [];
    for (const line of example.split("\n")) {
      const m = /^(#\s*)?( *)([A-Za-z]+):/.exec(line);
      if (!m || (m[1] && m[2]!.length > 0)) continue;
      const depth = m[2]!.length / 2;
      stack.length = depth;
      stack.push(m[3]!);
      keys.add(stack.join("."));
      // flow-style maps on one line: "threads: { udp: 2, udpAffinity: ... }"
      for (const inner of line.matchAll(/[{,]\s*([A-Za-z]+):/g))
        keys.add(`${stack.join(".")}.${inner[1]}`);
    }
    const missing = settingLeaves()
      .map((l) => l.setting.key)
      .filter((k) => !keys.has(k));
    assert.deepEqual(missing, []);
  });

  it("every option sets a setting that exists and is in --help; every flag once", () => {
    const help = buildProgram()
      .commands.find((c) => c.name() === "run")!
      .helpInformation();
    const keys = new Set(settingLeaves().map((l) => l.setting.key));
    for (const row of RUN_OPTIONS) {
      if (row.key !== undefined) assert.ok(keys.has(row.key), row.flags);
      assert.ok(help.includes(row.flags.replace(/ <.*$/, "")), `--help lacks ${row.flags}`);
    }
    const flags = RUN_OPTIONS.flatMap((r) => r.flags.replace(/ <.*$/, "").split(/,\s*/));
    assert.equal(new Set(flags).size, flags.length);
  });

  it("every setting has a default or is optional, and the defaults are what an empty command line gives", () => {
    assert.deepEqual(resolveConfig([]), DEFAULT_CONFIG);
    for (const { setting } of settingLeaves()) {
      assert.ok(setting.doc.length > 0, `${setting.key} has no doc`);
      if (setting.default !== undefined)
        assert.ok(
          setting.value.yaml.safeParse(setting.default).success,
          `${setting.key}: default out of range`,
        );
    }
  });

  it("a YAML value and a flag out of range get the same message, naming where", () => {
    const file = problemsOf(() => resolveConfig(["--config", "t.yaml"], "batchSize: 0\n"));
    const flag = problemsOf(() => resolveConfig(["--batch-size", "0"]));
    assert.deepEqual(file, ["t.yaml:1:12: batchSize: expected an integer from 1 to 1024, got 0"]);
    assert.deepEqual(flag, ['--batch-size: expected an integer from 1 to 1024, got "0"']);
    assert.deepEqual(
      problemsOf(() => resolveConfig(["--max-endpoints", "0"])),
      ['--max-endpoints: expected an integer from 1 to 65535, got "0"'],
    );
  });
});

function problemsOf(f: () => unknown): string[] {
  try {
    f();
  } catch (err) {
    return [...(err as { problems: string[] }).problems];
  }
  return [];
}
