/**
 * The Mermaid topology diagram (`npm run plan -- --diagram`, `tollgate-policy check --diagram`):
 * golden files in tests/golden/diagram/<case>.mmd pin the whole text (refresh with UPDATE_GOLDEN=1
 * after reviewing the diff); structural checks make sure every arrow joins declared boxes and the
 * failing hop of a broken topology is the one drawn red.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import type { StackValidationPolicy } from "@pulumi/policy/policy";
import {
  modelDiagram,
  runPolicies,
  stackDiagram,
  tollgatePolicies,
  topologyOf,
  type Topology,
} from "@tollgate/policy";
import { captured, DeploymentV3, res, retarget } from "./helpers";

const GOLDEN = path.resolve(__dirname, "../../../tests/golden/diagram");

interface Case {
  readonly name: string;
  readonly config: string;
  readonly preview?: boolean;
  readonly mutate?: (d: DeploymentV3) => void;
  /** Text of the red arrows' labels (empty: a valid topology, nothing red). */
  readonly failing: readonly RegExp[];
}

const CASES: readonly Case[] = [
  { name: "north-south-2az", config: "north-south-2az-ipv4", failing: [] },
  { name: "egress-2az", config: "egress-2az", failing: [] },
  { name: "both-3az", config: "both-3az", failing: [] },
  { name: "north-south-2az-preview", config: "north-south-2az-ipv4", preview: true, failing: [] },
  {
    name: "edge-route-other-az",
    config: "north-south-2az-ipv4",
    mutate: (d) =>
      retarget(
        res(d, "tollgate-ns-igw-edge-us-east-1a"),
        "vpcEndpointId",
        res(d, "tollgate-ns-gwlbe-us-east-1b"),
      ),
    failing: [/✗ crosses-az|✗ different-endpoint/],
  },
  {
    name: "workload-default-to-igw",
    config: "north-south-2az-ipv4",
    mutate: (d) =>
      retarget(
        res(d, "tollgate-ns-workload-default-us-east-1b"),
        "gatewayId",
        res(d, "tollgate-ns-igw"),
      ),
    failing: [/✗ skips-inspection/],
  },
];

/** Boxes, arrows and the red arrows' indexes of a Mermaid flowchart. */
function parse(text: string): { boxes: Set<string>; arrows: string[][]; red: number[] } {
  const boxes = new Set<string>();
  const arrows: string[][] = [];
  let red: number[] = [];
  let depth = 0;
  for (const line of text.split("\n").map((l) => l.trim())) {
    const box = /^([A-Za-z0-9_]+)\["/.exec(line);
    const arrow = /^([A-Za-z0-9_]+) (-->|-\.->|<-->|---)(?:\|"([^"]*)"\|)? ([A-Za-z0-9_]+)$/.exec(
      line,
    );
    if (line.startsWith("subgraph ")) depth++;
    else if (line === "end") depth--;
    else if (arrow) arrows.push([arrow[1]!, arrow[4]!, arrow[3] ?? ""]);
    else if (box) boxes.add(box[1]!);
    else if (line.startsWith("linkStyle ")) red = line.split(" ")[1]!.split(",").map(Number);
    assert.ok(depth >= 0, `unbalanced "end": ${line}`);
  }
  assert.equal(depth, 0, "every subgraph is closed");
  return { boxes, arrows, red };
}

describe("policy: topology diagram (Mermaid)", function () {
  this.timeout(60_000);

  for (const c of CASES) {
    it(`${c.name}: golden text, arrows join declared boxes, red only where the path breaks`, async () => {
      const d = await captured(c.config, c.preview ?? false);
      c.mutate?.(d);
      const text = stackDiagram(d.deployment.resources);
      const { boxes, arrows, red } = parse(text);
      assert.ok(arrows.length > 0, "paths are drawn");
      for (const [from, to] of arrows) {
        assert.ok(
          boxes.has(from!) && boxes.has(to!),
          `arrow ${from} -> ${to} joins declared boxes`,
        );
      }
      const redLabels = red.map((i) => arrows[i]?.[2] ?? "");
      if (c.failing.length === 0) {
        assert.deepEqual(redLabels, [], "a valid topology has no red arrow");
        assert.doesNotMatch(text, /class .* bad/);
      }
      for (const re of c.failing) {
        assert.ok(
          redLabels.some((l) => re.test(l)),
          `a red arrow says ${re}: ${redLabels.join(" | ")}`,
        );
      }
      const file = path.join(GOLDEN, `${c.name}.mmd`);
      if (process.env.UPDATE_GOLDEN === "1") {
        fs.mkdirSync(GOLDEN, { recursive: true });
        fs.writeFileSync(file, text);
      }
      assert.ok(fs.existsSync(file), `golden file ${file} exists (UPDATE_GOLDEN=1 writes it)`);
      assert.equal(text, fs.readFileSync(file, "utf8"));
    });
  }

  it("check --diagram draws from the policy run's model: no second link, the run's topology", async () => {
    const d = await captured(CASES[0]!.config, false);
    const seen: Topology[] = [];
    const spy: StackValidationPolicy = {
      name: "spy-topology",
      description: "records the topology the stack policies see",
      enforcementLevel: "advisory",
      validateStack: (args) => void seen.push(topologyOf(args.resources)),
    };
    const result = await runPolicies(d.deployment.resources, {
      policies: [...tollgatePolicies, spy],
    });
    assert.equal(seen.length, 1);
    assert.equal(topologyOf(result.model), seen[0], "the diagram's topology is the run's");
    assert.equal(modelDiagram(result.model), stackDiagram(d.deployment.resources));
  });
});
