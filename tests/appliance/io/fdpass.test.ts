/**
 * The addon's descriptor passing (sd_notify's FDSTORE=1 protocol and the receiving side tests
 * use to play the service manager), against the real kernel: abstract and path sockets, the
 * descriptors arrive as the same open files, nothing leaks, errors are JS exceptions.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadNative, NATIVE_ADDON_PATH, type NativeAddon } from "@tollgate/appliance";

const openFds = (): number => fs.readdirSync("/proc/self/fd").length;

describe("tollgate_native descriptor passing (notify socket)", () => {
  let native: NativeAddon;
  let dir: string;

  before(function () {
    if (!fs.existsSync(NATIVE_ADDON_PATH)) {
      if (process.env.CI === "true") throw new Error(`addon not built (${NATIVE_ADDON_PATH})`);
      console.log(`    skipped: addon not built (${NATIVE_ADDON_PATH})`);
      this.skip();
    }
    native = loadNative();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tg-fdpass-"));
  });

  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const kind of ["abstract", "path"] as const) {
    it(`sends a message with descriptors to a socket (${kind} name); they arrive as the same files`, () => {
      const name =
        kind === "abstract" ? `@tg-fdpass-${process.pid}` : path.join(dir, `${kind}.sock`);
      const baseline = openFds();
      const sock = native.notifyBind(name);
      const a = native.memfdCreate("a");
      const b = native.memfdCreate("b");
      fs.writeSync(a, "first", 0);
      fs.writeSync(b, "second", 0);
      native.notifySend(name, "FDSTORE=1\nFDNAME=pair", [a, b]);
      native.notifySend(name, "WATCHDOG=1", []);
      const m = native.notifyReceive(sock)!;
      assert.equal(m.message, "FDSTORE=1\nFDNAME=pair");
      assert.equal(m.truncated, false);
      assert.equal(m.fds.length, 2);
      const read = (fd: number) => {
        const buf = Buffer.alloc(16);
        return buf.subarray(0, fs.readSync(fd, buf, 0, 16, 0)).toString();
      };
      assert.deepEqual(m.fds.map(read), ["first", "second"]);
      fs.writeSync(a, "FIRST", 0); // the same open file, not a copy
      assert.equal(read(m.fds[0]!), "FIRST");
      assert.deepEqual(native.notifyReceive(sock), {
        message: "WATCHDOG=1",
        fds: [],
        truncated: false,
      });
      assert.equal(native.notifyReceive(sock), null, "nothing queued");
      for (const fd of [a, b, ...m.fds, sock]) native.closeFd(fd);
      assert.equal(openFds(), baseline, "no descriptor leaked");
    });
  }

  it("reports errors as exceptions naming the cause", () => {
    const baseline = openFds();
    assert.throws(
      () => native.notifySend(path.join(dir, "nobody.sock"), "FDSTORE=1", []),
      (e: NodeJS.ErrnoException) => e.code === "ENOENT" && /notify socket/.test(e.message),
    );
    assert.throws(
      () => native.notifySend("relative.sock", "x", []),
      /absolute path or an abstract/,
    );
    assert.throws(() => native.notifySend("@x", "x", new Array(254).fill(0)), /at most 253/);
    assert.throws(() => native.tunName(0), /TUNGETIFF/);
    const s = native.notifyBind(`@tg-fdpass-dup-${process.pid}`);
    assert.throws(() => native.notifyBind(`@tg-fdpass-dup-${process.pid}`), /EADDRINUSE|in use/);
    native.closeFd(s);
    assert.equal(openFds(), baseline, "no descriptor leaked");
  });
});
