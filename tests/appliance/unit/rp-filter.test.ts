import { strict as assert } from "node:assert";
import { endpointInfo, RpFilterKeeper, type SysctlFs } from "@tollgate/appliance";
import { rpFilterOptions } from "../helpers/settings";

const ROOT = "/proc/sys/net/ipv4/conf";

function fakeFs(initial: Record<string, string>) {
  const files = new Map(Object.entries(initial).map(([k, v]) => [`${ROOT}/${k}/rp_filter`, v]));
  const writes: string[] = [];
  let failWrites = false;
  const fs: SysctlFs = {
    async read(p) {
      const v = files.get(p);
      if (v === undefined) throw new Error(`ENOENT: ${p}`);
      return v;
    },
    async write(p, v) {
      if (failWrites) throw new Error(`EACCES: ${p}`);
      if (!files.has(p)) throw new Error(`ENOENT: ${p}`);
      writes.push(`${p}=${v}`);
      files.set(p, `${v}\n`);
    },
  };
  return {
    fs,
    writes,
    files,
    set: (name: string, v: string) => files.set(`${ROOT}/${name}/rp_filter`, v),
    get: (name: string) => files.get(`${ROOT}/${name}/rp_filter`)?.trim(),
    failWrites: (b: boolean) => (failWrites = b),
  };
}

describe("rp_filter keeper", () => {
  const ep = endpointInfo(42n);

  it("disables all/default on start and the interfaces on creation", async () => {
    const f = fakeFs({ all: "1\n", default: "2\n", [ep.gwi]: "1\n", [ep.gwo]: "0\n" });
    const k = new RpFilterKeeper(rpFilterOptions({ fs: f.fs, intervalMs: 0 }));
    await k.start();
    assert.equal(f.get("all"), "0");
    assert.equal(f.get("default"), "0");
    assert.equal(f.get(ep.gwi), "1");
    await k.created(ep);
    assert.equal(f.get(ep.gwi), "0");
    assert.deepEqual(f.writes, [
      `${ROOT}/all/rp_filter=0`,
      `${ROOT}/default/rp_filter=0`,
      `${ROOT}/${ep.gwi}/rp_filter=0`,
    ]);
    assert.equal(k.stats.resets, 0, "first assertions are not resets");
    await k.close();
  });

  it("re-asserts 0 when something resets it, counting and logging the reset", async () => {
    const f = fakeFs({ all: "0", default: "0", [ep.gwi]: "0", [ep.gwo]: "0" });
    const warnings: object[] = [];
    const k = new RpFilterKeeper(
      rpFilterOptions({
        fs: f.fs,
        intervalMs: 0,
        logger: { info() {}, warn: (o) => warnings.push(o), error() {} },
      }),
    );
    await k.start();
    await k.created(ep);
    f.set("all", "1");
    f.set(ep.gwo, "2");
    await k.check();
    assert.equal(f.get("all"), "0");
    assert.equal(f.get(ep.gwo), "0");
    assert.equal(k.stats.resets, 2);
    assert.equal(warnings.length, 2);
  });

  it("re-checks periodically", async () => {
    const f = fakeFs({ all: "0", default: "0" });
    const k = new RpFilterKeeper(rpFilterOptions({ fs: f.fs, intervalMs: 20 }));
    await k.start();
    f.set("all", "1");
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(f.get("all"), "0");
    assert.equal(k.stats.resets, 1);
    await k.close();
  });

  it("reports failures as problems and forgets destroyed interfaces", async () => {
    const f = fakeFs({ all: "1", default: "0", [ep.gwi]: "1", [ep.gwo]: "1" });
    const errors: object[] = [];
    const k = new RpFilterKeeper(
      rpFilterOptions({
        fs: f.fs,
        intervalMs: 0,
        logger: { info() {}, warn() {}, error: (o) => errors.push(o) },
      }),
    );
    f.failWrites(true);
    await k.start();
    await k.created(ep);
    assert.deepEqual([...k.problems.keys()].sort(), ["all", ep.gwi, ep.gwo].sort());
    assert.ok(k.stats.errors >= 3);
    await k.check();
    assert.equal(errors.length, 3, "the same error is logged once per target");
    f.failWrites(false);
    await k.check();
    assert.equal(k.problems.size, 0);
    await k.destroyed(ep);
    f.files.delete(`${ROOT}/${ep.gwi}/rp_filter`);
    await k.check();
    assert.equal(k.problems.size, 0, "a removed interface is not a problem");
  });

  it("can leave all/default alone", async () => {
    const f = fakeFs({ all: "1", default: "1", [ep.gwi]: "1", [ep.gwo]: "1" });
    const k = new RpFilterKeeper(rpFilterOptions({ fs: f.fs, intervalMs: 0, global: false }));
    await k.start();
    await k.created(ep);
    assert.equal(f.get("all"), "1");
    assert.equal(f.get(ep.gwi), "0");
  });
});
