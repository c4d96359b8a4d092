/**
 * A booted Debian container: `systemd-nspawn -b` on an overlay of the cached root file system,
 * joined to a network namespace the test created. The host has no systemd and no machined, so the
 * container is not registered (`--register=no --keep-unit`); commands run inside through
 * `nsenter -t <container PID 1> -a`. Everything is undone by `stop()` and by the process-exit
 * cleanup (see `cleanup.ts`), in that order of preference.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { onCleanup, pidAlive } from "./cleanup";

/** Why this machine cannot boot the test container, or undefined when it can. */
export function nspawnUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (mmdebstrap, overlay mounts, systemd-nspawn)";
  for (const [cmd, pkg] of [
    ["systemd-nspawn", "systemd-container"],
    ["mmdebstrap", "mmdebstrap"],
    ["nsenter", "util-linux"],
    ["ip", "iproute2"],
  ] as const) {
    const r = spawnSync(cmd, ["--version"], { stdio: "ignore" });
    if (r.error) return `needs '${cmd}' (Debian package ${pkg}; scripts/system-deps.sh --install)`;
  }
  const ns = spawnSync(
    "unshare",
    ["--mount", "--pid", "--net", "--uts", "--ipc", "--fork", "true"],
    {
      encoding: "utf8",
    },
  );
  if (ns.status !== 0) return `cannot create namespaces for a container: ${ns.stderr.trim()}`;
  return overlayUnavailable();
}

/** Mounts and unmounts a scratch overlay; the reason it fails, or undefined. */
function overlayUnavailable(): string | undefined {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tgboot-probe-"));
  try {
    for (const d of ["lower", "upper", "work", "root"]) fs.mkdirSync(path.join(dir, d));
    const o = `lowerdir=${dir}/lower,upperdir=${dir}/upper,workdir=${dir}/work`;
    const m = spawnSync("mount", ["-t", "overlay", "overlay", "-o", o, `${dir}/root`], {
      encoding: "utf8",
    });
    if (m.status !== 0) return `cannot mount an overlay file system: ${m.stderr.trim()}`;
    spawnSync("umount", [`${dir}/root`]);
    return undefined;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface ExecResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Container {
  readonly name: string;
  /** The container's root as seen from the host (the overlay's merged directory). */
  readonly root: string;
  /** Host PID of the container's systemd. */
  readonly pid1: number;
  /** Runs argv inside the container (all its namespaces), with a clean environment. */
  exec(argv: readonly string[], options?: { timeoutMs?: number; input?: string }): ExecResult;
  /** Like exec, but throws (with stderr) when the command fails. */
  run(argv: readonly string[], options?: { timeoutMs?: number }): string;
  /** nspawn's own output and the container's console, for failure reports. */
  console(): string;
  /** Powers the container off (bounded), then kills what is left and removes the overlay. */
  stop(): Promise<void>;
}

export interface BootOptions {
  /** Lower layer: the cached root file system (never written). */
  readonly rootfs: string;
  /** Name (machine name and host name), unique per process. */
  readonly name: string;
  /** Network namespace name under /run/netns. */
  readonly netns: string;
  /** Called with the merged root before boot (write files into the container's upper layer). */
  readonly prepare?: (root: string) => void;
  /** How long the boot may take until `systemctl is-system-running` settles. */
  readonly bootTimeoutMs: number;
  /** What the container may give its services beyond nspawn's defaults. */
  readonly privileges: ContainerPrivileges;
}

/**
 * What the container's services may have beyond nspawn's defaults, which keep neither CAP_BPF nor
 * CAP_PERFMON, filter the bpf() system call out (bpffs is not namespaced) and mount no bpffs
 * (systemd mounts it at boot on a host, not in a container).
 */
export interface ContainerPrivileges {
  /** Capabilities added to the container's bounding set (`--capability`). */
  readonly capabilities: readonly string[];
  /** System calls allowed through nspawn's filter (`--system-call-filter`). */
  readonly systemCalls: readonly string[];
  /**
   * A bpffs of its own on /sys/fs/bpf, as systemd mounts it on an instance: a new bpffs instance
   * (mode 0700, like systemd's) mounted on the host in the container's scratch directory and bound
   * in, so pins never meet the host's or another container's.
   */
  readonly bpffs: boolean;
}

/** The nspawn arguments that grant `p`. */
export function privilegeArgs(p: ContainerPrivileges, bpffsDir: string): string[] {
  return [
    `--capability=${p.capabilities.join(",")}`,
    ...(p.systemCalls.length > 0 ? [`--system-call-filter=${p.systemCalls.join(" ")}`] : []),
    ...(p.bpffs ? [`--bind=${bpffsDir}:/sys/fs/bpf`] : []),
  ];
}

const INSIDE_ENV = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"];

function sh(cmd: string, args: readonly string[]): void {
  execFileSync(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
}

/** Host PIDs of the processes whose network namespace is /run/netns/`netns`. */
function processesInNetns(netns: string): number[] {
  const link = `net:[${fs.statSync(`/run/netns/${netns}`).ino}]`;
  return fs.readdirSync("/proc").flatMap((entry) => {
    try {
      return /^\d+$/.test(entry) && fs.readlinkSync(`/proc/${entry}/ns/net`) === link
        ? [Number(entry)]
        : [];
    } catch {
      return []; // the process exited while we looked
    }
  });
}

/** The host PID of the process that is PID 1 in a PID namespace and lives in netns `netns`. */
function findContainerInit(netns: string): number | undefined {
  return processesInNetns(netns).find((pid) => {
    try {
      const nspid = /^NSpid:\s+(.*)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
      const ids = nspid?.[1]?.trim().split(/\s+/) ?? [];
      return ids.length >= 2 && ids[ids.length - 1] === "1";
    } catch {
      return false;
    }
  });
}

/** systemd powers off on SIGRTMIN+4 (glibc's SIGRTMIN is 34; Node has no name for it). */
const SIGRTMIN_PLUS_4 = 38;

/**
 * Removes what an earlier run killed with SIGKILL left behind (nothing else runs its cleanup):
 * containers in network namespaces `<prefix><pid>a` and `<prefix><pid>g` and overlays under
 * `<tmp>/<name prefix><pid>-*`, when that pid is gone.
 */
export function reapStale(netnsPrefix: string, namePrefix: string): string[] {
  const reaped: string[] = [];
  const names = fs.existsSync("/run/netns") ? fs.readdirSync("/run/netns") : [];
  for (const ns of names) {
    const m = new RegExp(`^${netnsPrefix}(\\d+)[ag]$`).exec(ns);
    if (!m || pidAlive(Number(m[1]))) continue;
    for (const pid of processesInNetns(ns)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    spawnSync("ip", ["netns", "del", ns]);
    reaped.push(`netns ${ns}`);
  }
  for (const d of fs.readdirSync(os.tmpdir())) {
    const m = new RegExp(`^${namePrefix}(\\d+)-`).exec(d);
    if (!m || pidAlive(Number(m[1]))) continue;
    const dir = path.join(os.tmpdir(), d);
    for (const m of ["root", "bpffs"])
      spawnSync("umount", ["--lazy", path.join(dir, m)], { stdio: "ignore" });
    fs.rmSync(dir, { recursive: true, force: true });
    reaped.push(dir);
  }
  return reaped;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` every `everyMs` until it returns a value; throws naming `what` after `timeoutMs`. */
export async function waitUntil<T>(
  what: string,
  timeoutMs: number,
  check: () => T | undefined | Promise<T | undefined>,
  everyMs = 250,
): Promise<T> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (performance.now() > end)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/**
 * Mounts an overlay of `rootfs`, boots it with systemd-nspawn in netns `netns` and waits until
 * the container's systemd reports the boot finished (running or degraded).
 */
export async function bootContainer(options: BootOptions): Promise<Container> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `${options.name}-`));
  const removeWork = onCleanup(`remove ${work}`, () =>
    fs.rmSync(work, { recursive: true, force: true }),
  );
  const root = path.join(work, "root");
  for (const d of ["upper", "work", "root"]) fs.mkdirSync(path.join(work, d));
  sh("mount", [
    "-t",
    "overlay",
    "overlay",
    "-o",
    `lowerdir=${options.rootfs},upperdir=${work}/upper,workdir=${work}/work`,
    root,
  ]);
  const unmount = onCleanup(`unmount ${root}`, () => sh("umount", ["--lazy", root]));
  const bpffs = path.join(work, "bpffs");
  let unmountBpffs = (): void => undefined;
  if (options.privileges.bpffs) {
    fs.mkdirSync(bpffs);
    sh("mount", ["-t", "bpf", "-o", "mode=0700,nosuid,nodev,noexec", "bpf", bpffs]);
    unmountBpffs = onCleanup(`unmount ${bpffs}`, () => sh("umount", ["--lazy", bpffs]));
  }
  // No getty on the (piped) console; the test reads the journal instead.
  for (const unit of ["console-getty.service", "getty@.service"])
    fs.symlinkSync("/dev/null", path.join(root, "etc/systemd/system", unit));
  options.prepare?.(root);

  let consoleOut = "";
  const child: ChildProcess = spawn(
    "systemd-nspawn",
    [
      "--quiet",
      "--register=no",
      "--keep-unit",
      "--boot",
      `--directory=${root}`,
      `--machine=${options.name}`,
      `--network-namespace-path=/run/netns/${options.netns}`,
      ...privilegeArgs(options.privileges, bpffs),
      "--console=pipe",
      "--resolv-conf=off",
      "--timezone=off",
      "--link-journal=no",
    ],
    {
      stdio: ["ignore", "pipe", "pipe"],
      // /proc/sys/net and /sys writable as on an instance (the rule engine writes sysctls).
      env: { ...process.env, SYSTEMD_NSPAWN_API_VFS_WRITABLE: "network" },
    },
  );
  child.stdout!.on("data", (d: Buffer) => (consoleOut = (consoleOut + d.toString()).slice(-65536)));
  child.stderr!.on("data", (d: Buffer) => (consoleOut = (consoleOut + d.toString()).slice(-65536)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let pid1: number | undefined;
  const kill = onCleanup(`kill container ${options.name}`, () => {
    // Killing the PID namespace's init kills everything in it; then nspawn itself.
    if (pid1 !== undefined) {
      try {
        process.kill(pid1, "SIGKILL");
      } catch {
        // gone
      }
    }
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });

  const exec = (argv: readonly string[], o: { timeoutMs?: number; input?: string } = {}) => {
    if (pid1 === undefined) throw new Error("container not booted");
    const r = spawnSync(
      "nsenter",
      ["-t", String(pid1), "-a", "/usr/bin/env", "-i", ...INSIDE_ENV, ...argv],
      {
        encoding: "utf8",
        timeout: o.timeoutMs ?? 30000,
        killSignal: "SIGKILL",
        ...(o.input !== undefined ? { input: o.input } : {}),
      },
    );
    return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  };
  const run = (argv: readonly string[], o: { timeoutMs?: number } = {}) => {
    const r = exec(argv, o);
    if (r.status !== 0)
      throw new Error(`in container: ${argv.join(" ")} exited ${r.status}\n${r.stderr}`);
    return r.stdout;
  };
  const container: Container = {
    name: options.name,
    root,
    get pid1() {
      return pid1!;
    },
    exec,
    run,
    console: () => consoleOut,
    async stop() {
      if (pid1 !== undefined && child.exitCode === null) {
        try {
          process.kill(pid1, SIGRTMIN_PLUS_4);
        } catch {
          // gone
        }
        await Promise.race([exited, sleep(20000)]);
      }
      kill();
      await Promise.race([exited, sleep(5000)]);
      unmount();
      unmountBpffs();
      removeWork();
    },
  };

  try {
    pid1 = await waitUntil("the container's systemd to start", 30000, () => {
      if (child.exitCode !== null) throw new Error(`systemd-nspawn exited:\n${consoleOut}`);
      return findContainerInit(options.netns);
    });
    await waitUntil(
      "the container to finish booting",
      options.bootTimeoutMs,
      () => {
        const state = exec(["systemctl", "is-system-running"], { timeoutMs: 10000 }).stdout.trim();
        return ["running", "degraded"].includes(state) ? state : undefined;
      },
      500,
    );
  } catch (err) {
    await container.stop();
    throw new Error(`${String(err)}\n--- console ---\n${consoleOut}`);
  }
  return container;
}
