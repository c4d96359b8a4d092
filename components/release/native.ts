import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type { Architecture } from "../inspection/fleet-args";

/**
 * Builds the appliance's native addon for one instance architecture.
 *
 * The addon (appliance/native) is plain C against Node-API (`NAPI_VERSION=8` in binding.gyp):
 * it includes only node_api.h, links against nothing from Node and is resolved by the runtime
 * at load time, so cross-compiling needs just a C compiler for the target and the Node-API
 * headers (taken from the bundled runtime's own `include/node`). The flags are read from
 * binding.gyp (one source for the lab's node-gyp build and for releases) plus what node-gyp
 * adds for a shared Node module. No debug info and a content build-id: same inputs, same bytes.
 */

/** Debian's compiler and package for building on this machine for `arch`. */
export function compilerFor(
  arch: Architecture,
  hostArch: string = process.arch,
): { command: string; debianPackage: string } {
  const host: Architecture | undefined =
    hostArch === "x64" ? "x86_64" : hostArch === "arm64" ? "arm64" : undefined;
  if (host === arch) return { command: "gcc", debianPackage: "gcc" };
  return arch === "arm64"
    ? { command: "aarch64-linux-gnu-gcc", debianPackage: "gcc-aarch64-linux-gnu" }
    : { command: "x86_64-linux-gnu-gcc", debianPackage: "gcc-x86-64-linux-gnu" };
}

/** The ELF machine `file` reports for each architecture. */
export const ELF_MACHINE: Record<Architecture, RegExp> = {
  x86_64: /ELF 64-bit LSB shared object, x86-64/,
  arm64: /ELF 64-bit LSB shared object, ARM aarch64/,
};

interface GypTarget {
  target_name: string;
  sources: string[];
  cflags?: string[];
  defines?: string[];
}

/** The one target of appliance/native/binding.gyp (JSON-compatible gyp). */
export function readBindingGyp(nativeDir: string): GypTarget {
  const gyp = JSON.parse(fs.readFileSync(path.join(nativeDir, "binding.gyp"), "utf8")) as {
    targets: GypTarget[];
  };
  const [target] = gyp.targets;
  if (target === undefined || gyp.targets.length !== 1) {
    throw new Error(`release: ${nativeDir}/binding.gyp must have exactly one target`);
  }
  return target;
}

/** The compiler argv (without the command) that builds the addon into `out`. Pure. */
export function addonCompileArgs(
  nativeDir: string,
  target: GypTarget,
  nodeInclude: string,
  out: string,
): string[] {
  return [
    "-shared",
    "-fPIC",
    "-pthread",
    ...(target.cflags ?? []),
    ...(target.defines ?? []).map((d) => `-D${d}`),
    // What node-gyp defines for every module (common.gypi), minus the C++/V8-only ones.
    `-DNODE_GYP_MODULE_NAME=${target.target_name}`,
    "-DBUILDING_NODE_EXTENSION",
    "-D_LARGEFILE_SOURCE",
    "-D_FILE_OFFSET_BITS=64",
    `-I${nodeInclude}`,
    // Reproducible: no absolute build paths in the object, a build-id derived from the content.
    `-ffile-prefix-map=${nativeDir}=.`,
    "-Wl,--build-id=sha1",
    "-o",
    out,
    ...target.sources.map((s) => path.join(nativeDir, s)),
  ];
}

/** Runs a command (argv, no shell); an ENOENT names the Debian package that provides it. */
function run(command: string, args: string[], debianPackage: string): string {
  try {
    return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === "ENOENT") {
      throw new Error(
        `release: ${command} not found. Fix: apt-get install ${debianPackage} (scripts/system-deps.sh --install does it).`,
      );
    }
    throw new Error(`release: ${command} failed: ${e.stderr?.trim() ?? e.message}`);
  }
}

/**
 * Compiles the addon for `arch` to `out` and checks with `file` that it is an ELF shared object
 * of that architecture.
 */
export function buildAddon(
  arch: Architecture,
  nativeDir: string,
  nodeInclude: string,
  out: string,
): void {
  const cc = compilerFor(arch);
  const target = readBindingGyp(nativeDir);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  run(cc.command, addonCompileArgs(nativeDir, target, nodeInclude, out), cc.debianPackage);
  const kind = run("file", ["-b", out], "file");
  if (!ELF_MACHINE[arch].test(kind)) {
    throw new Error(`release: ${out} is "${kind.trim()}", not an ${arch} shared object`);
  }
  const needs = newestGlibc(run("readelf", ["-V", out], "binutils"));
  if (needs !== undefined && compareVersions(needs, GLIBC_FLOOR) > 0) {
    throw new Error(
      `release: ${out} needs GLIBC_${needs}, newer than ${GLIBC_FLOOR} (Amazon Linux 2023). Fix: avoid the newer libc call or build against an older sysroot.`,
    );
  }
}

/** Oldest glibc of the supported images: Amazon Linux 2023 (2.34; Ubuntu 22.04 2.35, Debian 12 2.36). */
export const GLIBC_FLOOR = "2.34";

function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The newest `GLIBC_x.y` symbol version in `readelf -V` output. Pure. */
export function newestGlibc(readelfOutput: string): string | undefined {
  const versions = [...readelfOutput.matchAll(/GLIBC_(\d+(?:\.\d+)*)/g)].map((m) => m[1] as string);
  return versions.sort(compareVersions).pop();
}

/** First line of `<compiler> --version`, or a message naming the package to install. */
export function compilerVersion(arch: Architecture): string {
  const cc = compilerFor(arch);
  return run(cc.command, ["--version"], cc.debianPackage).split("\n")[0] ?? "";
}
