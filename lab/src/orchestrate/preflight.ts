import * as fs from "node:fs";
import * as path from "node:path";

/** What the lab needs from the machine; gathered by `gatherFacts`, judged purely by `preflightProblems`. */
export interface PreflightFacts {
  readonly uid: number;
  /** Commands found on PATH or in /sbin, /usr/sbin. */
  readonly commands: Readonly<Record<string, boolean>>;
  readonly tunDevice: boolean;
  /** Path of the native addon and whether it exists (needed by the emulator's tun). */
  readonly nativeAddon: { readonly path: string; readonly exists: boolean };
  /** `tollgate` entry point and whether it exists (only needed with the real appliance). */
  readonly applianceBin: { readonly path: string; readonly exists: boolean };
  readonly needAppliance: boolean;
}

/** Commands the lab runs, and the Debian package of each. */
export const REQUIRED_COMMANDS: Readonly<Record<string, string>> = {
  ip: "iproute2",
  sysctl: "procps",
};
/** Used when present: the demo's ping step is skipped otherwise. */
export const OPTIONAL_COMMANDS: Readonly<Record<string, string>> = { ping: "iputils-ping" };

export interface Preflight {
  /** Each one stops the lab, and says exactly how to fix it. */
  readonly problems: readonly string[];
  readonly warnings: readonly string[];
}

export function preflightProblems(f: PreflightFacts): Preflight {
  const problems: string[] = [];
  const warnings: string[] = [];
  if (f.uid !== 0) {
    problems.push(
      "the lab creates network namespaces and interfaces: run it as root (sudo npm run lab)",
    );
  }
  const missing = Object.entries(REQUIRED_COMMANDS).filter(([cmd]) => !f.commands[cmd]);
  if (missing.length > 0) {
    const pkgs = [...new Set(missing.map(([, p]) => p))].join(" ");
    problems.push(
      `missing command(s) ${missing.map(([c]) => c).join(", ")}: sudo apt-get install -y ${pkgs} (or sudo bash scripts/system-deps.sh --install)`,
    );
  }
  for (const [cmd, pkg] of Object.entries(OPTIONAL_COMMANDS)) {
    if (!f.commands[cmd])
      warnings.push(`${cmd} not found: its demo step is skipped (sudo apt-get install -y ${pkg})`);
  }
  if (!f.tunDevice) problems.push("no /dev/net/tun: load the tun module (sudo modprobe tun)");
  if (!f.nativeAddon.exists) {
    problems.push(
      `the appliance's native addon is not built (${f.nativeAddon.path}): run npm run build (needs g++, make, python3)`,
    );
  }
  if (f.needAppliance && !f.applianceBin.exists) {
    problems.push(
      `the tollgate command is missing (${f.applianceBin.path}): run npm run build, or use --appliance reflector to check the lab alone`,
    );
  }
  return { problems, warnings };
}

function hasCommand(cmd: string): boolean {
  const dirs = [
    ...(process.env["PATH"] ?? "").split(":"),
    "/usr/sbin",
    "/sbin",
    "/usr/bin",
    "/bin",
  ];
  return dirs.some((d) => {
    if (!d) return false;
    try {
      fs.accessSync(path.join(d, cmd), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export function gatherFacts(
  nativeAddonPath: string,
  applianceBin: string,
  needAppliance: boolean,
): PreflightFacts {
  const commands: Record<string, boolean> = {};
  for (const c of [...Object.keys(REQUIRED_COMMANDS), ...Object.keys(OPTIONAL_COMMANDS)])
    commands[c] = hasCommand(c);
  return {
    uid: process.getuid ? process.getuid() : -1,
    commands,
    tunDevice: fs.existsSync("/dev/net/tun"),
    nativeAddon: { path: nativeAddonPath, exists: fs.existsSync(nativeAddonPath) },
    applianceBin: { path: applianceBin, exists: fs.existsSync(applianceBin) },
    needAppliance,
  };
}
