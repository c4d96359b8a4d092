/**
 * The boot test's "image": a Debian bookworm root file system built with `mmdebstrap` from
 * Debian's own packages, cached between runs under a key made of everything that goes into it
 * (suite, mirror, variant, package list). Pre-installing the distribution packages the rule
 * engine and the S3 transport need stands in for an AMI that already has them; the user data must
 * notice they are present and not try to install them (the container has no route to a mirror).
 *
 * The cache holds one directory per key; a run never writes into it: the container gets an
 * overlay (cache as the lower layer, a scratch upper layer), see `container.ts`.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { pidAlive } from "./cleanup";

/** Where cached root file systems live (override with TOLLGATE_BOOT_CACHE). */
export const ROOTFS_CACHE_DIR = process.env.TOLLGATE_BOOT_CACHE ?? "/var/cache/tollgate-boot";

/**
 * What Debian 12's official cloud images have plus the tools the rule engine needs (iptables,
 * ipset, iproute2's ip and tc, conntrack), which the user data must then find and not install:
 * the container has no route to a mirror. The S3 transport needs curl and openssl (SigV4);
 * systemd/systemd-sysv boot the container, dbus serves systemctl.
 */
export const IMAGE_PACKAGES: readonly string[] = [
  "systemd",
  "systemd-sysv",
  "dbus",
  "iproute2",
  "iptables",
  "ipset",
  "conntrack",
  "procps",
  "curl",
  "ca-certificates",
  "openssl",
];

export interface RootfsSpec {
  readonly suite: string;
  readonly mirror: string;
  readonly variant: string;
  readonly packages: readonly string[];
}

export const BOOKWORM: RootfsSpec = {
  suite: "bookworm",
  mirror: process.env.TOLLGATE_BOOT_MIRROR ?? "http://deb.debian.org/debian",
  variant: "minbase",
  packages: IMAGE_PACKAGES,
};

/** The cache key: a hash of everything that changes the result. */
export function rootfsKey(spec: RootfsSpec): string {
  const canonical = JSON.stringify({ ...spec, packages: [...spec.packages].sort() });
  return createHash("sha256").update(canonical).digest("hex").slice(0, 16);
}

/** The `mmdebstrap` argv that builds `spec` into `target` (a directory). */
export function mmdebstrapArgv(spec: RootfsSpec, target: string): string[] {
  return [
    "--quiet",
    `--variant=${spec.variant}`,
    `--include=${spec.packages.join(",")}`,
    spec.suite,
    target,
    spec.mirror,
  ];
}

export interface Rootfs {
  readonly dir: string;
  /** True when this call built it (cold cache). */
  readonly built: boolean;
  /** Build duration in ms when built. */
  readonly buildMs?: number;
}

/**
 * Removes what a new image makes stale: images of other package lists (unless a container runs
 * on one: it is an overlay's lower layer) and scratch directories of builds whose process died.
 */
export function pruneCache(cacheDir: string, keep: string): void {
  const mounts = fs.readFileSync("/proc/self/mounts", "utf8");
  for (const name of fs.readdirSync(cacheDir)) {
    const p = path.join(cacheDir, name);
    const scratchOf = /^bookworm-[0-9a-f]{16}\.building-(\d+)$/.exec(name);
    const stale = scratchOf
      ? !pidAlive(Number(scratchOf[1]))
      : /^bookworm-[0-9a-f]{16}$/.test(name) && p !== keep && !mounts.includes(`lowerdir=${p}`);
    if (stale) fs.rmSync(p, { recursive: true, force: true });
  }
}

/**
 * Returns the cached root file system for `spec`, building it first when absent. The build goes
 * to a scratch directory renamed into place only when complete, so an interrupted build never
 * leaves a half-made cache entry; a new image prunes the stale ones ({@link pruneCache}).
 */
export function ensureRootfs(
  spec: RootfsSpec,
  options: { cacheDir?: string; timeoutMs: number; log?: (line: string) => void },
): Rootfs {
  const cacheDir = options.cacheDir ?? ROOTFS_CACHE_DIR;
  const dir = path.join(cacheDir, `bookworm-${rootfsKey(spec)}`);
  if (fs.existsSync(dir)) return { dir, built: false };
  fs.mkdirSync(cacheDir, { recursive: true });
  const scratch = `${dir}.building-${process.pid}`;
  fs.rmSync(scratch, { recursive: true, force: true });
  options.log?.(`building ${spec.suite} root file system into ${dir} (cold cache)`);
  const t0 = performance.now();
  try {
    execFileSync("mmdebstrap", mmdebstrapArgv(spec, scratch), {
      stdio: ["ignore", "ignore", "pipe"],
      timeout: options.timeoutMs,
      killSignal: "SIGKILL",
    });
    fs.renameSync(scratch, dir);
    pruneCache(cacheDir, dir);
  } catch (err) {
    fs.rmSync(scratch, { recursive: true, force: true });
    if (fs.existsSync(dir)) return { dir, built: false }; // raced
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? "";
    throw new Error(`mmdebstrap failed: ${String(err)}\n${stderr.slice(-4000)}`);
  }
  return { dir, built: true, buildMs: performance.now() - t0 };
}
