/**
 * The field indices of the arrays the data path shares with its port are defined once in
 * TypeScript (io/layout) and mirrored by the addon's C enums: the two must agree.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import {
  loadNative,
  NATIVE_ADDON_PATH,
  PORT_LAYOUT,
  Result,
  RxMeta,
  TxMeta,
} from "@tollgate/appliance";

describe("data path port layout", () => {
  it("is the same in tollgate_native.c as in io/layout.ts", function () {
    if (!fs.existsSync(NATIVE_ADDON_PATH)) {
      console.log(`    skipped: addon not built (${NATIVE_ADDON_PATH})`);
      this.skip();
    }
    assert.deepEqual(loadNative().layout, PORT_LAYOUT);
  });

  it("numbers each array's fields 0..n-1 with the count last", () => {
    for (const fields of [Result, RxMeta, TxMeta]) {
      const values = Object.values(fields);
      assert.deepEqual(
        values,
        values.map((_, i) => i),
      );
    }
  });
});
