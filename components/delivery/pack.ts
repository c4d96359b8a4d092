import * as fs from "fs";
import * as path from "path";
import type { Architecture } from "../inspection/fleet-args";
import { buildRelease, sha256 } from "../release";

/** A local file to upload, with its content hash (so S3 keys change whenever content does). */
export interface Artifact {
  readonly path: string;
  readonly sha256: string;
}

/**
 * Produces the artifacts at deploy time. Injected so tests and `npm run plan` never build a
 * release: {@link fakeArtifactSource} answers from names alone.
 */
export interface ArtifactSource {
  /** The self-contained release of the appliance package in `packageDir` for `arch`. */
  release(packageDir: string, arch: Architecture): Promise<Artifact>;
  /** Returns the rules file. */
  rulesFile(file: string): Artifact;
}

/**
 * The S3 key of an artifact: content addressed, so a changed release or rules file yields a new
 * key, new user data, a new launch template version and an instance refresh. Pure.
 */
export function artifactKey(kind: "appliance" | "rules", artifact: Artifact): string {
  return `${kind}/${artifact.sha256.slice(0, 16)}/${path.basename(artifact.path)}`;
}

/** The real source: {@link buildRelease} (cached by input hash) and rules files from disk. */
export function releaseArtifactSource(root: string = process.cwd()): ArtifactSource {
  return {
    async release(packageDir, arch) {
      const dir = path.resolve(root, packageDir);
      if (!fs.existsSync(path.join(dir, "package.json"))) {
        throw new Error(
          `tollgate:appliance.packageDir: ${dir} has no package.json. Fix: point it at the appliance package (default "appliance").`,
        );
      }
      const r = await buildRelease({ arch, root, packageDir });
      return { path: r.path, sha256: r.sha256 };
    },
    rulesFile(file) {
      const p = path.resolve(root, file);
      if (!fs.existsSync(p)) {
        throw new Error(
          `tollgate:appliance.rulesFile: ${p} does not exist. Fix: create it, or remove the key to deliver the default rules (examples/rules/default.yaml).`,
        );
      }
      return { path: p, sha256: sha256(fs.readFileSync(p)) };
    },
  };
}

/** A source for mocks: fixed paths and hashes derived from the names, no file system access. */
export function fakeArtifactSource(): ArtifactSource {
  return {
    release(packageDir, arch) {
      const p = path.join(".tollgate", "releases", `tollgate-appliance-0.1.0-linux-${arch}.tar.gz`);
      return Promise.resolve({ path: p, sha256: sha256(`release:${packageDir}:${arch}`) });
    },
    rulesFile(file) {
      return { path: file, sha256: sha256(`rules:${file}`) };
    },
  };
}
