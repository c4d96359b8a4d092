import { execFileSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";

/** A local file to upload, with its content hash (so S3 keys change whenever content does). */
export interface Artifact {
  readonly path: string;
  readonly sha256: string;
}

/** Produces the artifacts at deploy time. Injected so tests and `npm run plan` never run `npm pack`. */
export interface ArtifactSource {
  /** Packs the appliance package and returns the tarball. */
  packAppliance(packageDir: string): Artifact;
  /** Returns the rules file. */
  rulesFile(file: string): Artifact;
}

/** The file name `npm pack` gives a package: `@tollgate/appliance@0.1.0` -> `tollgate-appliance-0.1.0.tgz`. */
export function tarballName(pkg: { name: string; version: string }): string {
  return `${pkg.name.replace(/^@/, "").replace(/\//g, "-")}-${pkg.version}.tgz`;
}

/** Where the tarball of the package in `packageDir` lands: `<outDir>/<tarballName>`. Pure. */
export function tarballPath(pkg: { name: string; version: string }, outDir: string): string {
  return path.join(outDir, tarballName(pkg));
}

/**
 * The S3 key of an artifact: content addressed, so a changed package or rules file yields a new key,
 * new user data, a new launch template version and an instance refresh. Pure.
 */
export function artifactKey(kind: "appliance" | "rules", artifact: Artifact): string {
  return `${kind}/${artifact.sha256.slice(0, 16)}/${path.basename(artifact.path)}`;
}

function sha256File(file: string): string {
  return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/** The real source: `npm pack` into `.tollgate/` (argv, no shell), hash the results. */
export function npmArtifactSource(root: string = process.cwd()): ArtifactSource {
  return {
    packAppliance(packageDir) {
      const dir = path.resolve(root, packageDir);
      const pkgFile = path.join(dir, "package.json");
      if (!fs.existsSync(pkgFile)) {
        throw new Error(
          `tollgate:appliance.packageDir: ${dir} has no package.json. Fix: point it at the appliance package (default "appliance").`,
        );
      }
      const pkg = JSON.parse(fs.readFileSync(pkgFile, "utf8")) as { name: string; version: string };
      const outDir = path.resolve(root, ".tollgate");
      fs.mkdirSync(outDir, { recursive: true });
      try {
        execFileSync("npm", ["pack", dir, "--pack-destination", outDir, "--silent"], {
          stdio: ["ignore", "ignore", "pipe"],
        });
      } catch (err) {
        const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim() ?? "";
        throw new Error(
          `tollgate:appliance.packageDir: npm pack ${dir} failed${stderr ? `: ${stderr}` : ""}. Fix: build the package (npm run build) and check its package.json.`,
        );
      }
      const file = tarballPath(pkg, outDir);
      return { path: file, sha256: sha256File(file) };
    },
    rulesFile(file) {
      const p = path.resolve(root, file);
      if (!fs.existsSync(p)) {
        throw new Error(
          `tollgate:appliance.rulesFile: ${p} does not exist. Fix: create it or remove the key to use the appliance's built-in rules.`,
        );
      }
      return { path: p, sha256: sha256File(p) };
    },
  };
}

/** A source for mocks: fixed paths and hashes derived from the names, no file system access. */
export function fakeArtifactSource(): ArtifactSource {
  const hash = (s: string): string => createHash("sha256").update(s).digest("hex");
  return {
    packAppliance(packageDir) {
      const p = tarballPath({ name: "@tollgate/appliance", version: "0.1.0" }, ".tollgate");
      return { path: p, sha256: hash(`appliance:${packageDir}`) };
    },
    rulesFile(file) {
      return { path: file, sha256: hash(`rules:${file}`) };
    },
  };
}
