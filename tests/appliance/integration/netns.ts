/**
 * Network-namespace helpers for the appliance's root-only tests: a two-namespace testbed
 * (GWLB side <-veth-> appliance side) with names unique to this process, and child processes
 * started inside a namespace. Everything created here is removed by `destroy()`, which tests call
 * from after() so it runs even when a test fails.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BPF_OBJECT_PATH, type DaemonStatus } from "@tollgate/appliance";

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

/**
 * The data paths every integration tier runs with: the user path as it always ran (veth with its
 * default TX checksum offload), and the kernel path (eBPF) with TX checksum offload off on both
 * veth ends, the way a real NIC hands packets over (complete checksums, nothing "partial").
 */
export interface DatapathVariant {
  readonly datapath: "user" | "kernel";
  /** TX checksum offload of the veth pair (false: `ethtool -K ... tx off`). */
  readonly txChecksum: boolean;
  /** Appended to the testbed tag so each variant gets its own namespaces. */
  readonly suffix: string;
}

export const DATAPATH_VARIANTS: readonly DatapathVariant[] = [
  { datapath: "user", txChecksum: true, suffix: "" },
  { datapath: "kernel", txChecksum: false, suffix: "k" },
];

/** The kernel variant with the veth's default TX checksum offload (partial checksums). */
export const KERNEL_WITH_TX_OFFLOAD: DatapathVariant = {
  datapath: "kernel",
  txChecksum: true,
  suffix: "o",
};

/**
 * Why a variant cannot run here (beyond rootTierUnavailable), or undefined. Under CI=true a
 * missing piece is not a reason to skip: the tier runs and fails, naming it.
 */
export function variantUnavailable(v: DatapathVariant): string | undefined {
  if (process.env.CI === "true") return undefined;
  if (!v.txChecksum && !["/usr/sbin/ethtool", "/sbin/ethtool"].some((f) => fs.existsSync(f))) {
    return "needs ethtool (apt-get install ethtool)";
  }
  if (v.datapath !== "kernel") return undefined;
  if (!fs.existsSync(BPF_OBJECT_PATH)) {
    return `kernel data path not built (${BPF_OBJECT_PATH}): install clang and libbpf-dev, npm run build`;
  }
  const [major = 0, minor = 0] = os.release().split(".").map(Number);
  if (major < 6 || (major === 6 && minor < 6))
    return `kernel ${os.release()} has no tcx (needs 6.6)`;
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

/**
 * Creates the two namespaces joined by a veth pair; `tag` keeps names unique per test file.
 * `txChecksum: false` turns TX checksum offload off on both ends.
 */
export function createTestbed(tag: string, options: { txChecksum?: boolean } = {}): Testbed {
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
    if (options.txChecksum === false) {
      sh("ip", ["netns", "exec", gw, "ethtool", "-K", "gw0", "tx", "off"]);
      sh("ip", ["netns", "exec", ap, "ethtool", "-K", "ap0", "tx", "off"]);
    }
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

/** GET http://127.0.0.1:port/urlPath from inside namespace `ns` (status 0 when unreachable). */
export function getInNs(
  bed: Testbed,
  ns: string,
  port: number,
  urlPath: string,
): { status: number; body: string } {
  const out = bed.exec(ns, process.execPath, [
    "-e",
    `fetch("http://127.0.0.1:${port}${urlPath}").then(async (r) => ` +
      `console.log(JSON.stringify({ status: r.status, body: await r.text() })))` +
      `.catch(() => console.log(JSON.stringify({ status: 0, body: "" })))`,
  ]);
  return JSON.parse(out) as { status: number; body: string };
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

export function spawnInNs(
  ns: string,
  cmd: string,
  args: string[],
  options: {
    env?: NodeJS.ProcessEnv;
    /** Descriptors the child gets as 3, 4, ... (LISTEN_FDS). */
    fds?: readonly number[];
  } = {},
): NsChild {
  const child = spawn("ip", ["netns", "exec", ns, cmd, ...args], {
    stdio: ["ignore", "pipe", "pipe", ...(options.fds ?? [])],
    ...(options.env ? { env: options.env } : {}),
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

import { waitFor } from "../../wait";

export { waitFor };

/**
 * Why the data-path tier cannot run here (root tier, the addon not built, the variant's needs),
 * or undefined.
 */
export function datapathTierUnavailable(
  addonPath: string,
  variant: DatapathVariant = DATAPATH_VARIANTS[0]!,
): string | undefined {
  return (
    rootTierUnavailable() ??
    (fs.existsSync(addonPath)
      ? undefined
      : `native addon not built (${addonPath}); run npm run build`) ??
    variantUnavailable(variant)
  );
}

/** Skips the calling hook's suite, saying why, when datapathTierUnavailable names a reason. */
export function skipUnlessRunnable(
  ctx: Mocha.Context,
  addonPath: string,
  variant: DatapathVariant,
): void {
  const why = datapathTierUnavailable(addonPath, variant);
  if (why) {
    console.log(`    skipped: ${why}`);
    ctx.skip();
  }
}

/**
 * Hook lines that log every call to `log` and, on CREATE, forward gwi-X -> gwo-X with a tc
 * mirred redirect (what a gwlbtun user's hook does).
 */
export function mirredHookLines(log: string): string[] {
  return [
    `echo "$*" >> ${log}`,
    '[ "$1" = CREATE ] || exit 0',
    'tc qdisc add dev "$2" ingress',
    'exec tc filter add dev "$2" parent ffff: protocol all prio 2 u32 match u32 0 0 action mirred egress redirect dev "$3"',
  ];
}

/** Writes an executable `/bin/sh` hook script made of `lines` into `dir`; returns its path. */
export function writeHook(dir: string, lines: readonly string[]): string {
  const hook = path.join(dir, "hook.sh");
  fs.writeFileSync(hook, ["#!/bin/sh", ...lines, ""].join("\n"), { mode: 0o755 });
  return hook;
}

/** A testbed with the daemon fixture (`fixtures/daemon.js`) running in its appliance namespace. */
export interface DaemonBed {
  readonly bed: Testbed;
  readonly daemon: NsChild;
  /** Scratch directory of this bed (removed by `destroy()`). */
  readonly dir: string;
  /** The daemon's status file, rewritten by the fixture. */
  status(): DaemonStatus;
  /** Stops `extra` children and the daemon, removes the namespaces and the scratch directory. */
  destroy(extra?: readonly (NsChild | undefined)[]): Promise<void>;
}

/**
 * Creates a testbed tagged `tag`, writes the hook from `hookLines` (given the scratch dir), runs
 * `beforeDaemon` (e.g. to start a server in the appliance namespace) and starts the daemon
 * fixture, resolving once its socket is bound. Cleans everything up itself if any step fails.
 */
export async function startDaemonBed(options: {
  tag: string;
  variant: DatapathVariant;
  hookLines: (dir: string) => readonly string[];
  beforeDaemon?: (bed: Testbed) => Promise<void>;
}): Promise<DaemonBed> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tgc2${options.tag}-`));
  const statusFile = path.join(dir, "status.json");
  const status = (): DaemonStatus =>
    JSON.parse(fs.readFileSync(statusFile, "utf8")) as DaemonStatus;
  const hook = writeHook(dir, options.hookLines(dir));
  let bed: Testbed | undefined;
  let daemon: NsChild | undefined;
  const destroy = async (extra: readonly (NsChild | undefined)[] = []): Promise<void> => {
    for (const c of extra) await c?.stop();
    await daemon?.stop();
    bed?.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    bed = createTestbed(options.tag + options.variant.suffix, {
      txChecksum: options.variant.txChecksum,
    });
    await options.beforeDaemon?.(bed);
    const d = spawnInNs(bed.ap, process.execPath, [
      path.join(__dirname, "fixtures", "daemon.js"),
      JSON.stringify({ hook, statusFile, datapath: options.variant.datapath }),
    ]);
    daemon = d;
    await waitFor("daemon status", () =>
      fs.existsSync(statusFile) && status().socketBound ? true : undefined,
    ).catch((err) => {
      throw new Error(`${String(err)}\ndaemon stderr:\n${d.stderr()}`);
    });
    return { bed, daemon: d, dir, status, destroy };
  } catch (err) {
    await destroy();
    throw err;
  }
}

/** The appliance's `tollgate` executable, as the package installs it. */
export const TOLLGATE_BIN = path.join(
  path.dirname(require.resolve("@tollgate/appliance/package.json")),
  "bin",
  "tollgate.js",
);

/** The GWLB-side traffic fixture (fixtures/emulate.ts), run in a namespace. */
export const EMULATE = path.join(__dirname, "fixtures", "emulate.js");
