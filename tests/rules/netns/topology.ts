/**
 * Stand-in topology for the rule engine's root tests, all inside namespaces this process creates
 * (names `tgd<pid>-<role>`), so it never touches the host:
 *
 *   C (client 10.10.1.2, fd10:1::2) -- R -- S (server 10.10.2.2, fd10:2::2)
 *   R plays the GWLB: traffic between C and S (both directions) goes R:r-in -> A:gwi-1,
 *   and what A sends out of gwo-1 comes back to R:r-out and on to its destination.
 *   A (appliance) also has up0 (10.10.9.2, via R) as its own uplink and mon0/mon1 for mirroring.
 *
 * gwi-1/gwo-1 are veths standing in for the daemon's tun pair. R:r-out carries gwi-1's MAC so
 * frames redirected by tc (passthrough) are accepted as if a tun had delivered them.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { ExecRunner } from "@tollgate/appliance";

export const CLIENT4 = "10.10.1.2";
export const SERVER4 = "10.10.2.2";
export const CLIENT6 = "fd10:1::2";
export const SERVER6 = "fd10:2::2";
export const UPLINK4 = "10.10.9.2";

const PROBE = path.join(__dirname, "probe.js");

/** Why root tests cannot run here, or undefined when they can. */
export function skipReason(tools: readonly string[] = []): string | undefined {
  if (process.getuid?.() !== 0) return "not root";
  for (const t of ["ip", "iptables", "ip6tables", "iptables-save", "tc", "sysctl", ...tools]) {
    try {
      execFileSync(
        "sh",
        ["-c", `command -v ${t} || test -x /usr/sbin/${t} || test -x /sbin/${t}`],
        {
          stdio: "ignore",
        },
      );
    } catch {
      return `missing tool: ${t} (install it with scripts/system-deps.sh --install)`;
    }
  }
  return undefined;
}

/** Echo replies ping says it received (0 when it printed no summary). */
function received(pingOutput: string): number {
  return Number(/(\d+) received/.exec(pingOutput)?.[1] ?? 0);
}

export class Lab {
  readonly prefix = `tgd${process.pid}`;
  /** World 1: client, server and router (GWLB stand-in) namespaces. */
  readonly c = `${this.prefix}-c`;
  readonly s = `${this.prefix}-s`;
  readonly r = `${this.prefix}-r`;
  readonly a = `${this.prefix}-a`;
  private readonly children: ChildProcess[] = [];

  /** Runner for the appliance namespace (what the engine uses). */
  readonly runner = new ExecRunner({ netns: this.a });

  sh(ns: string, ...argv: string[]): string {
    return execFileSync("ip", ["netns", "exec", ns, ...argv], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  }

  trySh(ns: string, ...argv: string[]): string | undefined {
    try {
      return this.sh(ns, ...argv);
    } catch {
      return undefined;
    }
  }

  private ip(ns: string, ...argv: string[]): void {
    execFileSync("ip", ["-n", ns, ...argv], { stdio: ["ignore", "ignore", "pipe"] });
  }

  /** Namespaces of stand-in world k (1 = c/s/r above); worlds share A and overlap in addresses. */
  world(k: number): { c: string; s: string; r: string; gwi: string; gwo: string } {
    const sfx = k === 1 ? "" : String(k);
    return {
      c: `${this.prefix}-c${sfx}`,
      s: `${this.prefix}-s${sfx}`,
      r: `${this.prefix}-r${sfx}`,
      gwi: `gwi-${k}`,
      gwo: `gwo-${k}`,
    };
  }

  private worlds = 1;

  /**
   * Builds `worlds` copies of C - R - S, all with the same addresses (overlapping CIDRs, as two
   * VPCs behind two GWLB endpoints), each reaching A through its own gwi-k/gwo-k.
   */
  setup(worlds = 1): void {
    this.destroy();
    this.worlds = worlds;
    execFileSync("ip", ["netns", "add", this.a]);
    this.ip(this.a, "link", "set", "lo", "up");
    const veth = (ns1: string, if1: string, ns2: string, if2: string) => {
      this.ip(ns1, "link", "add", if1, "type", "veth", "peer", "name", if2, "netns", ns2);
      this.ip(ns1, "link", "set", if1, "up");
      this.ip(ns2, "link", "set", if2, "up");
    };
    const addr = (ns: string, dev: string, ...cidrs: string[]) => {
      for (const c of cidrs)
        this.ip(ns, "addr", "add", c, "dev", dev, ...(c.includes(":") ? ["nodad"] : []));
    };
    this.sh(this.a, "sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=0");
    for (let k = 1; k <= worlds; k++) {
      const w = this.world(k);
      for (const ns of [w.c, w.s, w.r]) {
        execFileSync("ip", ["netns", "add", ns]);
        this.ip(ns, "link", "set", "lo", "up");
      }
      veth(w.c, "c0", w.r, "r-c");
      veth(w.s, "s0", w.r, "r-s");
      veth(w.r, "r-in", this.a, w.gwi);
      veth(this.a, w.gwo, w.r, "r-out");
      addr(w.c, "c0", `${CLIENT4}/24`, `${CLIENT6}/64`);
      addr(w.s, "s0", `${SERVER4}/24`, `${SERVER6}/64`);
      addr(w.r, "r-c", "10.10.1.1/24", "fd10:1::1/64");
      addr(w.r, "r-s", "10.10.2.1/24", "fd10:2::1/64");
      addr(w.r, "r-in", `192.168.${k}.1/30`, `fd99:${k}::1/64`);
      addr(this.a, w.gwi, `192.168.${k}.2/30`, `fd99:${k}::2/64`);
      this.ip(w.c, "route", "add", "default", "via", "10.10.1.1");
      this.ip(w.c, "-6", "route", "add", "default", "via", "fd10:1::1");
      this.ip(w.s, "route", "add", "default", "via", "10.10.2.1");
      this.ip(w.s, "-6", "route", "add", "default", "via", "fd10:2::1");
      // R: forward, and send C<->S traffic through the appliance (both directions).
      for (const kv of [
        "net.ipv4.ip_forward=1",
        "net.ipv6.conf.all.forwarding=1",
        "net.ipv4.conf.all.rp_filter=0",
        "net.ipv4.conf.default.rp_filter=0",
      ]) {
        this.sh(w.r, "sysctl", "-q", "-w", kv);
      }
      for (const dev of ["r-out", "r-c", "r-s", "r-in"]) {
        this.sh(w.r, "sysctl", "-q", "-w", `net.ipv4.conf.${dev}.rp_filter=0`);
      }
      this.ip(w.r, "route", "add", "default", "via", `192.168.${k}.2`, "table", "101");
      this.ip(w.r, "-6", "route", "add", "default", "via", `fd99:${k}::2`, "table", "101");
      for (const fam of ["-4", "-6"]) {
        this.ip(w.r, fam, "rule", "add", "pref", "100", "iif", "r-c", "lookup", "101");
        const clientNet = fam === "-4" ? "10.10.1.0/24" : "fd10:1::/64";
        this.ip(
          w.r,
          fam,
          "rule",
          "add",
          "pref",
          "101",
          "iif",
          "r-s",
          "to",
          clientNet,
          "lookup",
          "101",
        );
      }
      // Frames leaving A by gwo-k are addressed to R:r-out: give r-out gwi-k's MAC (tc
      // passthrough keeps the original frame) and pin the neighbours A needs on gwo-k.
      const mac = (
        JSON.parse(
          execFileSync("ip", ["-n", this.a, "-j", "link", "show", w.gwi], { encoding: "utf8" }),
        ) as { address: string }[]
      )[0]!.address;
      this.ip(w.r, "link", "set", "r-out", "address", mac);
      // The daemon's gwi-X is a tun (no ARP/neighbour discovery, and in passthrough mode tc would
      // redirect R's ARP requests to gwo-X): R knows gwi-k's MAC statically.
      this.ip(
        w.r,
        "-4",
        "neigh",
        "replace",
        `192.168.${k}.2`,
        "lladdr",
        mac,
        "dev",
        "r-in",
        "nud",
        "permanent",
      );
      this.ip(
        w.r,
        "-6",
        "neigh",
        "replace",
        `fd99:${k}::2`,
        "lladdr",
        mac,
        "dev",
        "r-in",
        "nud",
        "permanent",
      );
      for (const dst of [CLIENT4, SERVER4, CLIENT6, SERVER6]) {
        const fam = dst.includes(":") ? "-6" : "-4";
        this.ip(
          this.a,
          fam,
          "neigh",
          "replace",
          dst,
          "lladdr",
          mac,
          "dev",
          w.gwo,
          "nud",
          "permanent",
        );
      }
    }
    // A's own uplink (Squid upstream, egress-nat) and a monitoring pair, via world 1's router.
    veth(this.a, "up0", this.r, "r-up");
    veth(this.a, "mon0", this.a, "mon1");
    addr(this.r, "r-up", "10.10.9.1/24");
    addr(this.a, "up0", `${UPLINK4}/24`);
    this.sh(this.r, "sysctl", "-q", "-w", "net.ipv4.conf.r-up.rp_filter=0");
    this.ip(this.a, "route", "add", "default", "via", "10.10.9.1");
  }

  /** Starts a probe server in `ns`; resolves once it listens. */
  async serve(ns: string, ...args: string[]): Promise<ChildProcess> {
    const child = spawn("ip", ["netns", "exec", ns, process.execPath, PROBE, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.children.push(child);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`server ${args.join(" ")} did not start`)), 5000);
      child.stdout!.on("data", (d: Buffer) => {
        if (d.toString().includes("ready")) {
          clearTimeout(t);
          resolve();
        }
      });
      child.on("exit", (code) =>
        reject(new Error(`server ${args.join(" ")} exited ${String(code)}`)),
      );
    });
    return child;
  }

  /** Runs a probe client in `ns` and returns its JSON result. */
  probe(
    ns: string,
    ...args: string[]
  ): Promise<{
    ok: boolean;
    data?: string;
    error?: string;
    status?: number;
    body?: string;
    via?: string | null;
  }> {
    return new Promise((resolve, reject) => {
      const child = spawn("ip", ["netns", "exec", ns, process.execPath, PROBE, ...args], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.on("exit", () => {
        try {
          resolve(JSON.parse(out.trim().split("\n").pop() ?? "{}"));
        } catch {
          reject(new Error(`probe ${args.join(" ")} printed ${JSON.stringify(out)}`));
        }
      });
    });
  }

  tcp(host: string, port: number, ms = 1500) {
    return this.probe(this.c, "tcp", host, String(port), String(ms));
  }

  udp(host: string, port: number, ms = 1500) {
    return this.probe(this.c, "udp", host, String(port), String(ms));
  }

  /** ping's argv from the client: quiet, numeric, one second to wait for the last reply. */
  private pingArgv(host: string, count: number, interval: string): string[] {
    return ["ping", "-n", "-q", "-c", String(count), "-i", interval, "-W", "1", host];
  }

  ping(host: string, count = 1, interval = "0.2"): number {
    return received(this.trySh(this.c, ...this.pingArgv(host, count, interval)) ?? "");
  }

  /** Like ping(), without blocking the event loop (traffic while the test does something else). */
  pingAsync(host: string, count: number, interval = "0.2"): Promise<number> {
    return new Promise((resolve) => {
      const argv = ["netns", "exec", this.c, ...this.pingArgv(host, count, interval)];
      const child = spawn("ip", argv, { stdio: ["ignore", "pipe", "ignore"] });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.on("exit", () => resolve(received(out)));
    });
  }

  rxPackets(ns: string, dev: string): number {
    return Number(this.sh(ns, "cat", `/sys/class/net/${dev}/statistics/rx_packets`).trim());
  }

  stopChildren(): void {
    for (const c of this.children.splice(0)) {
      if (c.exitCode === null && c.pid) {
        try {
          process.kill(c.pid, "SIGTERM");
        } catch {
          /* already gone */
        }
      }
    }
  }

  destroy(): void {
    this.stopChildren();
    const all = [this.a];
    for (let k = 1; k <= Math.max(this.worlds, 4); k++) {
      const w = this.world(k);
      all.push(w.c, w.s, w.r);
    }
    for (const ns of all) {
      try {
        execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
      } catch {
        /* not there */
      }
    }
  }
}
