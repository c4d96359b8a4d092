import assert from "node:assert/strict";
import { inspectedSubnets, linkStack, StateResource, topologyOf } from "@tollgate/policy";
import { captured, check, EXAMPLE_CONFIGS, show, unknownComputed, unknownIds } from "./helpers";

describe("policy pack over the Tollgate program (captured under mocks)", function () {
  this.timeout(120000);

  for (const name of Object.keys(EXAMPLE_CONFIGS)) {
    for (const mode of ["update", "preview", "unknown ids", "unknown computed"] as const) {
      it(`${name} (${mode}): zero violations, and the routing policies see inspected subnets`, async () => {
        const base = await captured(name, mode === "preview");
        const d =
          mode === "unknown ids"
            ? unknownIds(base)
            : mode === "unknown computed"
              ? unknownComputed(base)
              : base;
        const result = await check(d);
        assert.equal(result.violations.length, 0, show(result));
        const t = topologyOf(linkStack(d.deployment.resources as unknown as StateResource[]));
        const inspected = inspectedSubnets(t);
        // Adopted subnets that keep their own route table (outside the stack) are invisible to the pack.
        assert.ok(
          inspected.length >= (name.startsWith("adopt") ? 1 : 2),
          `expected inspected subnets in ${name}`,
        );
        // Every inspected subnet resolves to a route table whose default route reaches an endpoint.
        for (const s of inspected) {
          assert.ok(s.rt, `${s.label} has no route table`);
          assert.ok(
            s.rt.routes.some((r) => r.target.kind === "gwlbe" && r.target.node !== undefined),
            `${s.label}: no resolved GWLB endpoint route in ${s.rt.label}`,
          );
        }
      });
    }
  }
});
