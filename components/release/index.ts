import { execFileSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import { builtinModules } from "module";
import * as os from "os";
import * as path from "path";
import { pipeline } from "stream/promises";
import * as zlib from "zlib";
import type { Architecture } from "../inspection/fleet-args";
import { Lockfile, productionClosure } from "./lockfile";
import { buildAddon, compilerVersion } from "./native";
import { NODE_RUNTIME, nodeRuntimeTarball } from "./runtime";

export { NODE_RUNTIME } from "./runtime";
export { compilerFor } from "./native";

/**
 * Release artifacts: one self-contained, versioned tarball per instance architecture with
 * everything the appliance needs at run time, so an instance boots from S3 and its
 * distribution's own packages only (no registry, no compiler on the instance).
 *
 * Layout (paths inside the tarball; user data unpacks it to /opt/tollgate/releases/<hash>):
 *
 *   bin/tollgate                      launcher: the bundled node runs the appliance CLI
 *   bin/node                          Node.js runtime (NODE_RUNTIME, official build)
 *   lib/appliance/                    @tollgate/appliance: package.json, README.md, bin/tollgate.js,
 *                                     the dist files the CLI loads, native/build/Release/*.node,
 *                                     bpf/build/tollgate.bpf.o (the kernel data path, any arch),
 *                                     systemd/ (the unit, logrotate, example config)
 *   lib/appliance/node_modules/       production dependencies, versions from package-lock.json
 *   rules/default.yaml                the default rules file (examples/rules/default.yaml)
 *   RELEASE.json                      name, version, architecture, Node.js version, input hash
 *
 * Deterministic: entries sorted by name, one fixed mtime, uid/gid 0, normalised modes, gzip
 * without a timestamp; the same inputs give the same bytes (so the content-addressed S3 key only
 * changes when the content does). Built artifacts are cached by the hash of their inputs.
 */

export interface BuildReleaseOptions {
  readonly arch: Architecture;
  /** Where artifacts are written and cached. Defaults to `<root>/.tollgate/releases`. */
  readonly outDir?: string;
  /** Repository root (holds package-lock.json). Defaults to the current directory. */
  readonly root?: string;
  /** The appliance workspace, relative to `root`. Defaults to `appliance`. */
  readonly packageDir?: string;
}

export interface ReleaseArtifact {
  /** The `.tar.gz` file. */
  readonly path: string;
  /** SHA-256 of the file (hex). */
  readonly sha256: string;
  readonly bytes: number;
  /** The appliance package version. */
  readonly version: string;
  readonly arch: Architecture;
  /** Hash of every input (files, runtime, compiler); names the cache entry. */
  readonly inputHash: string;
  /** True when the artifact came from the cache. */
  readonly cached: boolean;
}

/** Bumped whenever the layout or the archive format changes (part of the input hash). */
const FORMAT = "tollgate-release/1";
/** 2020-01-01T00:00:00Z: every entry's mtime (a plausible date, so tar does not warn). */
const FIXED_MTIME = 1_577_836_800;
const DEFAULT_RULES = "examples/rules/default.yaml";
/**
 * The kernel data path's programs (clang -target bpfel at `npm run build`, uapi headers only): the
 * same bytes for x86_64 and arm64.
 */
const BPF_OBJECT = "bpf/build/tollgate.bpf.o";
/** The kernel path's flow counter (a bpf_map iterator; needs the instance kernel's BTF). */
const BPF_COUNT_OBJECT = "bpf/build/tollgate-count.bpf.o";
/** Files of the appliance package shipped besides the loaded dist files. */
const PACKAGE_FILES = [
  "package.json",
  "README.md",
  "bin/tollgate.js",
  "systemd/tollgate.service",
  "systemd/tollgate.logrotate",
  "systemd/tollgate.example.yaml",
  BPF_OBJECT,
  BPF_COUNT_OBJECT,
];
const ADDON = "native/build/Release/tollgate_native.node";
const APP = "lib/appliance";

/** The launcher `bin/tollgate`: resolves its own (symlinked) location, runs the bundled node. */
export const LAUNCHER = `#!/bin/sh
# Tollgate release launcher: runs the appliance CLI with the Node.js bundled in this release.
here=$(dirname "$(readlink -f "$0")")
exec "$here/node" "$here/../${APP}/bin/tollgate.js" "$@"
`;

/** A file to put into the release: its path there, its content source and whether it executes. */
interface Entry {
  readonly to: string;
  readonly from: string;
  readonly executable: boolean;
}

/** SHA-256 (hex) of `data`. */
export function sha256(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}

function filesUnder(dir: string, skip: (rel: string) => boolean, base = dir): string[] {
  const out: string[] = [];
  for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
    const abs = path.join(dir, d.name);
    const rel = path.relative(base, abs);
    if (skip(rel)) continue;
    if (d.isDirectory()) out.push(...filesUnder(abs, skip, base));
    else if (d.isFile()) out.push(rel);
  }
  return out;
}

/**
 * The compiled files the appliance CLI loads: the `require` graph from bin/tollgate.js, so tests,
 * the emulator and benchmarks stay out. Bare requires must be Node built-ins or declared
 * dependencies (a missing declaration fails here, not on an instance).
 */
export function runtimeFiles(pkgDir: string, dependencies: readonly string[]): string[] {
  const seen = new Set<string>();
  const builtins = new Set(builtinModules);
  const pending = ["bin/tollgate.js"];
  while (pending.length > 0) {
    const rel = pending.pop() as string;
    if (seen.has(rel)) continue;
    seen.add(rel);
    const text = fs.readFileSync(path.join(pkgDir, rel), "utf8");
    for (const m of text.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)) {
      const spec = m[1] as string;
      if (spec.startsWith(".")) {
        const base = path.join(path.dirname(rel), spec);
        const hit = [base, `${base}.js`, `${base}.json`, path.join(base, "index.js")].find((c) =>
          fs.statSync(path.join(pkgDir, c), { throwIfNoEntry: false })?.isFile(),
        );
        if (hit === undefined) throw new Error(`release: ${rel} requires ${spec}, not found`);
        pending.push(hit);
        continue;
      }
      const bare = spec.replace(/^node:/, "");
      const name = spec.startsWith("@")
        ? spec.split("/").slice(0, 2).join("/")
        : spec.split("/")[0];
      if (builtins.has(bare) || builtins.has(bare.split("/")[0] as string)) continue;
      if (!dependencies.includes(name as string)) {
        throw new Error(
          `release: ${rel} requires "${spec}", which is not in ${path.join(pkgDir, "package.json")} dependencies. Fix: add it there (npm install -w).`,
        );
      }
    }
  }
  return [...seen].sort();
}

/** Refuses a stale build: dist must be at least as new as every source file. */
function checkBuilt(pkgDir: string): void {
  const info = path.join(pkgDir, "dist", ".tsbuildinfo");
  const built = fs.statSync(info, { throwIfNoEntry: false })?.mtimeMs;
  const stale = filesUnder(path.join(pkgDir, "src"), () => false).filter(
    (f) => built === undefined || fs.statSync(path.join(pkgDir, "src", f)).mtimeMs > built,
  );
  if (built === undefined || stale.length > 0) {
    throw new Error(
      `release: ${pkgDir}/dist is missing or older than its sources${stale.length ? ` (${stale.slice(0, 3).join(", ")})` : ""}. Fix: npm run build.`,
    );
  }
}

/** Every file of the release except the runtime and the addon, which are produced per arch. */
function collectEntries(
  root: string,
  packageDir: string,
  arch: Architecture,
): { entries: Entry[]; version: string; name: string } {
  const pkgDir = path.join(root, packageDir);
  const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, "package.json"), "utf8")) as {
    name: string;
    version: string;
    dependencies?: Record<string, string>;
  };
  checkBuilt(pkgDir);
  for (const object of [BPF_OBJECT, BPF_COUNT_OBJECT]) {
    if (!fs.existsSync(path.join(pkgDir, object))) {
      throw new Error(
        `release: ${pkgDir}/${object} (the kernel data path) is not built. Fix: apt-get install clang libbpf-dev (scripts/system-deps.sh --install), then npm run build.`,
      );
    }
  }
  const entries: Entry[] = [];
  const own = new Set([
    ...PACKAGE_FILES,
    ...runtimeFiles(pkgDir, Object.keys(pkg.dependencies ?? {})),
  ]);
  for (const rel of own) {
    entries.push({
      to: `${APP}/${rel}`,
      from: path.join(pkgDir, rel),
      executable: rel.startsWith("bin/"),
    });
  }
  const lock = JSON.parse(
    fs.readFileSync(path.join(root, "package-lock.json"), "utf8"),
  ) as Lockfile;
  for (const dep of productionClosure(lock, packageDir)) {
    const dir = path.join(root, dep.from);
    const installed = fs.existsSync(path.join(dir, "package.json"))
      ? (JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as {
          version?: string;
        })
      : undefined;
    if (installed?.version !== dep.version) {
      throw new Error(
        `release: ${dep.from} is ${installed?.version ?? "not installed"}, package-lock.json says ${dep.version}. Fix: npm ci.`,
      );
    }
    const files = filesUnder(
      dir,
      (rel) => rel === "node_modules" || rel.startsWith("node_modules/"),
    );
    const native = files.filter((f) => f.endsWith(".node"));
    if (dep.hasInstallScript || native.length > 0) {
      throw new Error(
        `release: dependency ${dep.name} has an install script or a native binary (${native[0] ?? "install script"}); it cannot be bundled for ${arch} by copying. Fix: drop the dependency or teach components/release to build it.`,
      );
    }
    for (const f of files) {
      const mode = fs.statSync(path.join(dir, f)).mode;
      entries.push({
        to: `${APP}/${dep.to}/${f}`,
        from: path.join(dir, f),
        executable: (mode & 0o111) !== 0,
      });
    }
  }
  entries.push({
    to: "rules/default.yaml",
    from: path.join(root, DEFAULT_RULES),
    executable: false,
  });
  return {
    entries: entries.sort((a, b) => (a.to < b.to ? -1 : 1)),
    version: pkg.version,
    name: pkg.name,
  };
}

/** Hash of everything that determines the artifact's bytes. */
function inputHashOf(
  arch: Architecture,
  root: string,
  packageDir: string,
  entries: Entry[],
): string {
  const h = createHash("sha256");
  h.update(
    `${FORMAT}\n${arch}\n${NODE_RUNTIME.version} ${NODE_RUNTIME.packages[arch].integrity}\n`,
  );
  h.update(`${compilerVersion(arch)}\n${LAUNCHER}\n`);
  const nativeDir = path.join(root, packageDir, "native");
  const nativeInputs = [
    "binding.gyp",
    ...filesUnder(path.join(nativeDir, "src"), () => false).map((f) => `src/${f}`),
  ];
  for (const f of nativeInputs.sort())
    h.update(`native/${f} ${sha256(fs.readFileSync(path.join(nativeDir, f)))}\n`);
  for (const e of entries)
    h.update(`${e.to} ${e.executable ? 755 : 644} ${sha256(fs.readFileSync(e.from))}\n`);
  return h.digest("hex");
}

/** Writes the staged tree `dir` as a deterministic .tar.gz at `out`. */
export async function writeArchive(dir: string, out: string): Promise<void> {
  const tar = `${out}.tar`;
  // GNU tar's reproducible-archive options: sorted names, one mtime, numeric root ownership.
  execFileSync("tar", [
    "--sort=name",
    `--mtime=@${FIXED_MTIME}`,
    "--owner=0",
    "--group=0",
    "--numeric-owner",
    "--mode=u+rw,go-w,a+rX",
    "--format=gnu",
    "-C",
    dir,
    "-cf",
    tar,
    ".",
  ]);
  await pipeline(
    fs.createReadStream(tar),
    zlib.createGzip({ level: 9 }),
    fs.createWriteStream(out),
  );
  fs.rmSync(tar);
}

/** Copies the entries, extracts the runtime, builds the addon and writes the launcher into `stage`. */
function stage(
  stageDir: string,
  arch: Architecture,
  root: string,
  packageDir: string,
  entries: Entry[],
  meta: Record<string, string>,
  cacheDir: string,
): void {
  for (const e of entries) {
    const to = path.join(stageDir, e.to);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(e.from, to);
    fs.chmodSync(to, e.executable ? 0o755 : 0o644);
  }
  const runtime = nodeRuntimeTarball(arch, cacheDir);
  fs.mkdirSync(path.join(stageDir, "bin"), { recursive: true });
  const unpack = path.join(stageDir, ".runtime");
  fs.mkdirSync(unpack);
  execFileSync("tar", ["-xzf", runtime, "-C", unpack, "package/bin/node", "package/LICENSE"]);
  fs.renameSync(path.join(unpack, "package/bin/node"), path.join(stageDir, "bin/node"));
  fs.renameSync(path.join(unpack, "package/LICENSE"), path.join(stageDir, "bin/node.LICENSE"));
  fs.rmSync(unpack, { recursive: true });
  // Node-API headers of the bundled runtime's own version.
  const include = path.join(cacheDir, `node-${NODE_RUNTIME.version}-include`);
  if (!fs.existsSync(path.join(include, "node", "node_api.h"))) {
    // Extracted privately, then renamed: concurrent builds never see half the headers.
    const tmp = fs.mkdtempSync(`${include}.tmp-`);
    execFileSync("tar", [
      "-xzf",
      runtime,
      "-C",
      tmp,
      "--strip-components=2",
      "package/include/node",
    ]);
    try {
      fs.renameSync(tmp, include);
    } catch {
      fs.rmSync(tmp, { recursive: true, force: true }); // a concurrent build got there first
    }
  }
  buildAddon(
    arch,
    path.join(root, packageDir, "native"),
    path.join(include, "node"),
    path.join(stageDir, APP, ADDON),
  );
  fs.writeFileSync(path.join(stageDir, "bin/tollgate"), LAUNCHER, { mode: 0o755 });
  fs.writeFileSync(path.join(stageDir, "RELEASE.json"), `${JSON.stringify(meta, null, 2)}\n`);
}

/**
 * Builds (or takes from the cache) the release artifact of the appliance for `arch`.
 * Needs `npm run build` done (fresh dist), `npm ci` done (node_modules matching the lockfile),
 * the compiler for `arch` (arm64 on x86_64: Debian's gcc-aarch64-linux-gnu) and `file`.
 */
export async function buildRelease(options: BuildReleaseOptions): Promise<ReleaseArtifact> {
  const root = path.resolve(options.root ?? process.cwd());
  const packageDir = options.packageDir ?? "appliance";
  const outDir = path.resolve(root, options.outDir ?? ".tollgate/releases");
  const { arch } = options;
  const { entries, version, name } = collectEntries(root, packageDir, arch);
  const inputHash = inputHashOf(arch, root, packageDir, entries);
  const base = `${name.replace(/^@/, "").replace(/\//g, "-")}-${version}-linux-${arch}`;
  const file = path.join(outDir, `${base}-${inputHash.slice(0, 16)}.tar.gz`);
  const result = (cached: boolean): ReleaseArtifact => {
    const data = fs.readFileSync(file);
    return {
      path: file,
      sha256: sha256(data),
      bytes: data.length,
      version,
      arch,
      inputHash,
      cached,
    };
  };
  if (fs.existsSync(file)) return result(true);

  fs.mkdirSync(outDir, { recursive: true });
  const stageDir = fs.mkdtempSync(path.join(os.tmpdir(), `tollgate-release-${arch}-`));
  try {
    const meta = { name, version, arch, node: NODE_RUNTIME.version, inputHash };
    stage(stageDir, arch, root, packageDir, entries, meta, path.join(outDir, "cache"));
    const partial = `${file}.partial-${process.pid}`;
    await writeArchive(stageDir, partial);
    fs.renameSync(partial, file);
  } finally {
    fs.rmSync(stageDir, { recursive: true, force: true });
  }
  return result(false);
}
