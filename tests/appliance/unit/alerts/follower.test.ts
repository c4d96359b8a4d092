import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LogFollower, nodeFollowerFs } from "@tollgate/appliance";

describe("log follower", () => {
  let dir: string;
  let file: string;
  let lines: string[];
  const follower = (o: { from: "start" | "end"; maxLineBytes?: number }) =>
    new LogFollower({ path: file, onLine: (l) => lines.push(l), ...o });

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tg-follow-"));
    file = path.join(dir, "eve.json");
    lines = [];
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("skips the history with from=end and delivers complete lines only", () => {
    fs.writeFileSync(file, "old 1\nold 2\n");
    const f = follower({ from: "end" });
    f.poll();
    fs.appendFileSync(file, "new 1\nnew 2 part");
    f.poll();
    assert.deepEqual(lines, ["new 1"]);
    fs.appendFileSync(file, "ial\n\n");
    f.poll();
    assert.deepEqual(lines, ["new 1", "new 2 partial"]);
    assert.equal(f.stats.lines, 2);
    f.close();
  });

  it("reads a file that appears after the start from its beginning", () => {
    const f = follower({ from: "end" });
    f.poll();
    fs.writeFileSync(file, "first\n");
    f.poll();
    assert.deepEqual(lines, ["first"]);
    f.close();
  });

  it("follows rotation: the old file is read to its end, then the new one from 0", () => {
    fs.writeFileSync(file, "");
    const f = follower({ from: "end" });
    f.poll();
    fs.appendFileSync(file, "a\n");
    fs.renameSync(file, `${file}.1`);
    fs.appendFileSync(`${file}.1`, "b (written after the rename)\n");
    fs.writeFileSync(file, "c\n");
    f.poll();
    assert.deepEqual(lines, ["a", "b (written after the rename)", "c"]);
    assert.equal(f.stats.rotated, 1);
    f.close();
  });

  it("follows copytruncate: reading restarts at 0", () => {
    fs.writeFileSync(file, "");
    const f = follower({ from: "end" });
    f.poll();
    fs.appendFileSync(file, "before truncation\n");
    f.poll();
    fs.truncateSync(file, 0);
    fs.appendFileSync(file, "after\n");
    f.poll();
    assert.deepEqual(lines, ["before truncation", "after"]);
    assert.equal(f.stats.truncated, 1);
    f.close();
  });

  it("skips and counts lines over the bound, keeps the next one", () => {
    fs.writeFileSync(file, `${"x".repeat(100)}\nshort\n`);
    const f = follower({ from: "start", maxLineBytes: 50 });
    f.poll();
    assert.deepEqual(lines, ["short"]);
    assert.equal(f.stats.oversized, 1);
    f.close();
  });

  it("keeps multi-byte characters split across reads whole", () => {
    const text = `${"é".repeat(40_000)}\n`;
    fs.writeFileSync(file, text);
    const f = follower({ from: "start" });
    f.poll();
    assert.equal(lines[0], text.trimEnd());
    f.close();
  });

  it("counts read failures and never throws", () => {
    fs.writeFileSync(file, "x\n");
    const f = new LogFollower({
      path: file,
      from: "start",
      onLine: (l) => lines.push(l),
      fs: {
        ...nodeFollowerFs,
        read: () => {
          throw new Error("EIO");
        },
      },
    });
    f.poll();
    assert.equal(f.stats.errors, 1);
    assert.deepEqual(lines, []);
    f.close();
  });
});
