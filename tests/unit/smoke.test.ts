import { strict as assert } from "node:assert";
import { GENEVE_PORT } from "@tollgate/appliance";
import { DEFAULT_AZ_COUNT } from "@tollgate/components";
import { POLICY_PACK_NAME } from "@tollgate/policy";

describe("workspace wiring", () => {
  it("resolves the workspace packages from the root", () => {
    assert.equal(GENEVE_PORT, 6081);
    assert.equal(POLICY_PACK_NAME, "tollgate");
    assert.equal(DEFAULT_AZ_COUNT, 2);
  });
});
