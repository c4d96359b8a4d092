/**
 * Network-namespace helpers for the appliance's root-only tests: a two-namespace testbed
 * (GWLB side <-veth-> appliance side) with names unique to this process, and child processes
 * started inside a namespace. Everything created here is removed by `destroy()`, which tests call
 * from after() so it runs even when a test fails.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";

/** Why the root-only tier cannot run here, or undefined when it can. */
export function rootTierUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (network namespaces, tun, raw sockets)";
  for (const tool of ["ip", "tc"]) {
    try {
      execFileSync(tool, ["-V"], { stdio: "ignore" });
    } catch {
      return `needs the '${tool}' command (iproute2)`;
    }
  }
  if (!fs.existsSync("/dev/net/tun")) return "needs /dev/net/tun (tun module)";
  return undefined;
}

export function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

export interface Testbed {
  /** GWLB-side namespace (10.77.0.1) and appliance-side namespace (10.77.0.2). */
  readonly gw: string;
  readonly ap: string;
  readonly gwAddress: string;
  readonly apAddress: string;
  /** Runs a command inside a namespace and returns stdout. */
  exec(ns: string, cmd: string, args: string[]): string;
  destroy(): void;
}

/** Creates the two namespaces joined by a veth pair; `tag` keeps names unique per test file. */
export function createTestbed(tag: string): Testbed {
  const base = `tgc2${tag}${process.pid}`;
  if (base.length > 13) throw new Error(`namespace base name too long: ${base}`);
  const gw = `${base}g`;
  const ap = `${base}a`;
  const created: string[] = [];
  const destroy = (): void => {
    for (const ns of created.splice(0)) {
      try {
        sh("ip", ["netns", "del", ns]);
      } catch {
        // already gone
      }
    }
  };
  try {
    for (const ns of [gw, ap]) {
      sh("ip", ["netns", "add", ns]);
      created.push(ns);
      sh("ip", ["-n", ns, "link", "set", "lo", "up"]);
    }
    // Create the pair inside the GWLB namespace so no interface ever appears in the host's.
    sh("ip", ["-n", gw, "link", "add", "gw0", "type", "veth", "peer", "name", "ap0", "netns", ap]);
    sh("ip", ["-n", gw, "addr", "add", "10.77.0.1/24", "dev", "gw0"]);
    sh("ip", ["-n", ap, "addr", "add", "10.77.0.2/24", "dev", "ap0"]);
    sh("ip", ["-n", gw, "link", "set", "gw0", "up"]);
    sh("ip", ["-n", ap, "link", "set", "ap0", "up"]);
  } catch (err) {
    destroy();
    throw err;
  }
  return {
    gw,
    ap,
    gwAddress: "10.77.0.1",
    apAddress: "10.77.0.2",
    exec: (ns, cmd, args) => sh("ip", ["netns", "exec", ns, cmd, ...args]),
    destroy,
  };
}

/** A child process running inside a namespace, with its output collected. */
export interface NsChild {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<number | string>;
}

export function spawnInNs(ns: string, cmd: string, args: string[]): NsChild {
  const child = spawn("ip", ["netns", "exec", ns, cmd, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | string>((resolve) =>
    child.on("exit", (code, sig) => resolve(code ?? sig ?? -1)),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      const r = await exited;
      clearTimeout(timer);
      return r;
    },
  };
}

/** Polls `check` every 50 ms until it returns a value or `timeoutMs` passes. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined,
  timeoutMs = 5000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
