import { strict as assert } from "node:assert";
import { ConfigError } from "@tollgate/appliance";

/** Runs `f`, which must throw a ConfigError, and returns its problem lines. */
export function problems(f: () => unknown): string[] {
  try {
    f();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return [...err.problems];
  }
  assert.fail("expected a ConfigError");
}
