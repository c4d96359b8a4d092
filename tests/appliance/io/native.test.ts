/**
 * tollgate_native against the real kernel (root; run in a namespace created for the test): tun
 * open/configure/remove, the bound data path's batched tun writes and reads through a tc mirred
 * pass-through, UDP receive with IP_PKTINFO and truncation flags, raw sends that keep the source
 * port and carry a valid UDP checksum, the receive watch and its coalescing window, argument
 * checks.
 */
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { NATIVE_ADDON_PATH } from "@tollgate/appliance";
import { rootTierUnavailable } from "../integration/netns";

describe("tollgate_native addon (root, network namespace)", function () {
  this.timeout(20000);
  const ns = `tgc2io${process.pid}`;
  let r: Record<string, unknown>;

  before(function () {
    const why =
      rootTierUnavailable() ??
      (fs.existsSync(NATIVE_ADDON_PATH) ? undefined : `addon not built (${NATIVE_ADDON_PATH})`);
    if (why) {
      console.log(`    skipped: ${why}`);
      this.skip();
    }
    execFileSync("ip", ["netns", "add", ns]);
    try {
      const stdout = execFileSync(
        "ip",
        ["netns", "exec", ns, process.execPath, path.join(__dirname, "fixtures", "probe.js")],
        { encoding: "utf8", timeout: 15000 },
      );
      r = JSON.parse(stdout.trim().split("\n").pop()!) as Record<string, unknown>;
    } finally {
      execFileSync("ip", ["netns", "del", ns]);
    }
  });

  it("opens tun interfaces, sets MTU and up, checks names, removes them on close", () => {
    assert.equal(r.tunName, "tgt-a");
    assert.equal(r.flagsUp, true);
    assert.equal(r.mtu, 8500);
    assert.equal(r.missingFlags, -1);
    assert.equal(r.longName, "ERR_OUT_OF_RANGE");
    assert.equal(r.fifteen, "none", "15-character names are valid");
    assert.notEqual(r.busyName, "none", "cannot take over a non-tun interface");
    assert.equal(r.removed, true);
  });

  it("gives tun interfaces a replaceable noqueue default qdisc and keeps their queue length", () => {
    assert.equal(r.qdiscDefault, "pfifo_fast", "without noQueue: the kernel's default");
    assert.equal(r.qdiscNoQueue, "noqueue");
    assert.equal(r.qlenB, 500);
    assert.match(r.hookQdisc as string, /^qdisc pfifo \S+ root .*limit 500p/);
  });

  it("writes and reads batches of packets through a tc mirred pass-through unchanged", () => {
    assert.equal(r.written, 2);
    assert.equal(r.read, 2);
    assert.equal(r.readExact, true);
    assert.deepEqual(r.readEmpty, [0, 0], "EAGAIN reads as 0 packets, no error");
    assert.deepEqual(r.writeRead, [1, 1, true], "write and read back in one call");
    assert.equal(r.readBadFd, 9, "EBADF of the first read in READ_ERRNO");
    assert.deepEqual(r.writeBadFd, [0, 9], "EBADF reported per packet");
  });

  it("sends raw UDP from any source port with a valid checksum (odd and even lengths)", () => {
    assert.equal(r.sent, 2);
    assert.equal(r.sendRoom, 0, "no room for the headers: not sent");
    assert.equal(r.received, 2);
    assert.deepEqual(r.meta0, [19, 0x7f000001, 4444, 0x7f000001]);
    assert.deepEqual(r.meta1, [20, 0x7f000001, 5555, 0x7f000001]);
    assert.equal(r.payloadExact, true);
    assert.equal(r.csumErrors, 0);
  });

  it("binds the data path's buffers once, checking them and naming a missing one", () => {
    assert.equal(r.dpBadBind, "ERR_OUT_OF_RANGE", "buffers too small for the batch");
    assert.match(r.dpBindMissing as string, /buffers\.result: expected an Int32Array/);
  });

  it("binds with forced buffers, flags truncated datagrams, reports readiness", () => {
    assert.ok((r.rcvbuf as number) >= 8 << 20, `rcvbuf ${r.rcvbuf}`);
    assert.equal(r.bindTwice, "EADDRINUSE", "a second daemon cannot take the port");
    assert.equal(r.truncated, true);
    assert.equal(r.watchFired, 1, "one call for one batch; an empty receive never reaches JS");
  });

  it("coalesces close datagrams while the event loop keeps running", () => {
    assert.equal(r.coalesced, true);
    assert.equal(r.coalesceBadWindow, "ERR_OUT_OF_RANGE");
  });
});
