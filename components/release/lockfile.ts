/**
 * The production dependency tree of one workspace package, read from the root package-lock.json.
 * Pure: no file system access, so it is unit tested on small lockfiles.
 *
 * Why the lockfile and not `npm ci --omit=dev` in a staging directory: the lockfile already pins
 * every version and integrity, `npm ci` has installed exactly those into node_modules, and
 * copying them needs no registry, no derived lockfile and no second install that could resolve
 * differently. The builder checks that each installed package still has its locked version.
 */

/** One package entry of a lockfile v2/v3 `packages` map (only the fields used here). */
export interface LockEntry {
  readonly version?: string;
  readonly integrity?: string;
  readonly dev?: boolean;
  readonly link?: boolean;
  readonly hasInstallScript?: boolean;
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly optionalDependencies?: Readonly<Record<string, string>>;
  readonly peerDependencies?: Readonly<Record<string, string>>;
  readonly peerDependenciesMeta?: Readonly<Record<string, { readonly optional?: boolean }>>;
}

export interface Lockfile {
  readonly lockfileVersion: number;
  readonly packages: Readonly<Record<string, LockEntry>>;
}

/** One package of the closure: where it is in the lock tree and where it goes in the release. */
export interface LockedPackage {
  readonly name: string;
  readonly version: string;
  readonly integrity: string | undefined;
  /** Path in the workspace (relative to the lockfile), e.g. `node_modules/pino`. */
  readonly from: string;
  /** Path inside the package's own `node_modules` tree, e.g. `node_modules/pino`. */
  readonly to: string;
  readonly hasInstallScript: boolean;
}

/** Package name of a lock path: `node_modules/a/node_modules/@s/b` -> `@s/b`. */
function nameOf(lockPath: string): string {
  const i = lockPath.lastIndexOf("node_modules/");
  return lockPath.slice(i + "node_modules/".length);
}

/** Where Node's resolution finds `dep` when required from the package at `from` (lock paths). */
function resolveIn(
  packages: Readonly<Record<string, LockEntry>>,
  from: string,
  dep: string,
): string | undefined {
  let dir = from;
  for (;;) {
    const candidate = dir === "" ? `node_modules/${dep}` : `${dir}/node_modules/${dep}`;
    if (packages[candidate] !== undefined) return candidate;
    if (dir === "") return undefined;
    const up = dir.lastIndexOf("/node_modules/");
    // `appliance` (a workspace) or `node_modules/x` (a top-level package): next is the root.
    dir = up < 0 ? "" : dir.slice(0, up);
  }
}

/** The lock path a release path is derived from: the workspace prefix is dropped. */
function releasePath(workspace: string, lockPath: string): string {
  return lockPath.startsWith(`${workspace}/`) ? lockPath.slice(workspace.length + 1) : lockPath;
}

/**
 * Every package the workspace `workspace` (e.g. `appliance`) needs at run time: its
 * `dependencies`, their dependencies, optional dependencies that are installed, and required
 * peers, resolved as Node would from the lock tree. Sorted by release path. Throws when the
 * lockfile lacks a required package or two packages would land on the same release path.
 */
export function productionClosure(lock: Lockfile, workspace: string): LockedPackage[] {
  if (lock.lockfileVersion < 2) {
    throw new Error(
      `package-lock.json: lockfileVersion ${lock.lockfileVersion} has no "packages" map. Fix: regenerate it with npm 7 or newer (npm install).`,
    );
  }
  const root = lock.packages[workspace];
  if (root === undefined) {
    throw new Error(
      `package-lock.json has no workspace "${workspace}". Fix: run npm install at the repository root.`,
    );
  }
  const found = new Map<string, LockedPackage>();
  const byTarget = new Map<string, string>();
  const visit = (from: string, entry: LockEntry): void => {
    const required = Object.keys(entry.dependencies ?? {});
    const optional = Object.keys(entry.optionalDependencies ?? {});
    const peers = Object.keys(entry.peerDependencies ?? {}).filter(
      (p) => entry.peerDependenciesMeta?.[p]?.optional !== true,
    );
    for (const [dep, mustExist] of [
      ...required.map((d) => [d, true] as const),
      ...peers.map((d) => [d, true] as const),
      ...optional.map((d) => [d, false] as const),
    ]) {
      const at = resolveIn(lock.packages, from, dep);
      if (at === undefined) {
        if (!mustExist) continue;
        throw new Error(
          `package-lock.json: ${from || "(root)"} needs ${dep} but the lockfile has no copy of it. Fix: run npm install and commit package-lock.json.`,
        );
      }
      if (found.has(at)) continue;
      const e = lock.packages[at] as LockEntry;
      if (e.link === true) {
        throw new Error(
          `package-lock.json: ${dep} (${at}) is a workspace link; a release cannot bundle a workspace package as a dependency.`,
        );
      }
      const to = releasePath(workspace, at);
      const clash = byTarget.get(to);
      if (clash !== undefined && clash !== at) {
        throw new Error(
          `release: ${at} and ${clash} would both land on ${to}. Fix: align the two versions in package.json and run npm install.`,
        );
      }
      byTarget.set(to, at);
      found.set(at, {
        name: nameOf(at),
        version: e.version ?? "",
        integrity: e.integrity,
        from: at,
        to,
        hasInstallScript: e.hasInstallScript === true,
      });
      visit(at, e);
    }
  };
  visit(workspace, root);
  return [...found.values()].sort((a, b) => (a.to < b.to ? -1 : a.to > b.to ? 1 : 0));
}
