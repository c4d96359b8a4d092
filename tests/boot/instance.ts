/**
 * What the boot test does to and reads from the booted instance: run the user data as cloud-init
 * would, hold or break the iptables tools (the test's only seam inside the image), read the
 * bootstrap log's steps and collect everything worth printing when an assertion fails.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { APPLIANCE_LOG } from "@tollgate/components";
import type { Container } from "./container";

/** Where cloud-init keeps the instance's user data (and where the test puts it). */
export const USER_DATA_PATH = "/var/lib/cloud/instance/user-data.txt";
/** The transient service the user data runs in (cloud-final.service on an instance). */
export const USER_DATA_UNIT = "tollgate-boot-user-data.service";

/** Directory of the tool seam's switches inside the container. */
const SEAM_DIR = "/run/tollgate-boot-seam";
/** iptables tools behind the seam (Debian's alternatives point them at the nft backend). */
const SEAM_TOOLS = [
  "iptables",
  "iptables-restore",
  "iptables-save",
  "ip6tables",
  "ip6tables-restore",
  "ip6tables-save",
] as const;

/**
 * Installs the tool seam into a container root before boot: Debian's `/etc/alternatives` links
 * for the iptables tools point at a wrapper that (1) holds `*-restore` (applying rules) when run
 * by the appliance unit until the test opens the gate, (2) fails every iptables tool once the test
 * says so, and otherwise runs the real nft-backed tool. The binaries themselves are untouched.
 */
export function installToolSeam(root: string, unit: string): void {
  for (const tool of SEAM_TOOLS) {
    const real = tool.replace(/^(ip6?tables)/, "$1-nft");
    const script = [
      "#!/bin/sh",
      "# Boot test seam (tests/boot/instance.ts): hold rule applies, or fail like a missing tool.",
      ...(tool.endsWith("-restore")
        ? [
            `if grep -q '/${unit}$' /proc/self/cgroup; then`,
            `  while [ ! -e ${SEAM_DIR}/open ]; do sleep 0.1; done`,
            "fi",
          ]
        : []),
      `if [ -e ${SEAM_DIR}/fail ]; then echo "${tool}: made to fail by the boot test" >&2; exit 1; fi`,
      `exec /usr/sbin/${real} "$@"`,
      "",
    ].join("\n");
    const wrapper = path.join(root, "usr/local/lib/tollgate-boot-seam", tool);
    fs.mkdirSync(path.dirname(wrapper), { recursive: true });
    fs.writeFileSync(wrapper, script, { mode: 0o755 });
    const link = path.join(root, "etc/alternatives", tool);
    fs.rmSync(link, { force: true });
    fs.symlinkSync(`/usr/local/lib/tollgate-boot-seam/${tool}`, link);
  }
}

/** Lets the appliance's held rule applies through. */
export function openToolGate(c: Container): void {
  c.run(["sh", "-c", `mkdir -p ${SEAM_DIR} && touch ${SEAM_DIR}/open`]);
}

/** Makes every iptables tool fail from now on. */
export function breakIptablesTools(c: Container): void {
  c.run(["sh", "-c", `mkdir -p ${SEAM_DIR} && touch ${SEAM_DIR}/open ${SEAM_DIR}/fail`]);
}

/** Writes the user data where cloud-init keeps it (before boot). */
export function placeUserData(root: string, script: string): void {
  const file = path.join(root, USER_DATA_PATH.slice(1));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, script, { mode: 0o700 });
}

/**
 * Starts the user data as cloud-init's final stage would: once, as root, in a service of its own
 * after the boot finished. Does not wait (the test watches the appliance while it runs).
 */
export function startUserData(c: Container): void {
  c.run([
    "systemd-run",
    "--no-block",
    `--unit=${USER_DATA_UNIT}`,
    "--service-type=oneshot",
    "--property=RemainAfterExit=yes",
    "/bin/bash",
    USER_DATA_PATH,
  ]);
}

export interface UnitState {
  readonly ActiveState: string;
  readonly SubState: string;
  readonly Result: string;
  readonly ExecMainStatus: string;
}

export function unitState(c: Container, unit: string): UnitState {
  const out = c.exec([
    "systemctl",
    "show",
    "--property=ActiveState,SubState,Result,ExecMainStatus",
    unit,
  ]).stdout;
  const kv = Object.fromEntries(
    out
      .trim()
      .split("\n")
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
  return kv as unknown as UnitState;
}

/** The file's content inside the container, or a note that it is missing. */
export function readInside(c: Container, file: string): string {
  const p = path.join(c.root, file.slice(1));
  return fs.existsSync(p) ? fs.readFileSync(p, "utf8") : `(${file} does not exist)`;
}

/** Everything worth reading when an assertion about the instance failed. */
export function diagnostics(
  c: Container,
  files: readonly string[],
  units: readonly string[],
): string {
  const sections: [string, string][] = [];
  for (const f of files) sections.push([f, readInside(c, f)]);
  for (const u of units) {
    const status = c.exec(["systemctl", "status", "--no-pager", "--full", u]);
    sections.push([`systemctl status ${u}`, status.stdout + status.stderr]);
    const journal = c.exec(["journalctl", "--no-pager", "-n", "80", "-u", u]);
    sections.push([`journalctl -u ${u} (last 80)`, journal.stdout + journal.stderr]);
  }
  const failed = c.exec(["systemctl", "--failed", "--no-pager"]);
  sections.push(["systemctl --failed", failed.stdout]);
  return sections.map(([t, body]) => `----- ${t} -----\n${body.trimEnd()}`).join("\n");
}

/** The appliance's log record of the data path it chose at start (daemon.ts chooseDatapath). */
export interface DataPathChoice {
  readonly datapath: "kernel" | "user";
  /** `--datapath` as configured (kernel path only). */
  readonly mode?: string;
  /** Why `auto` fell back to the user path. */
  readonly reason?: string;
  readonly msg: string;
}

/** Every data path choice the appliance logged (one per start), oldest first. */
export function dataPathChoices(c: Container): DataPathChoice[] {
  return readInside(c, APPLIANCE_LOG)
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Partial<DataPathChoice>)
    .filter(
      (r): r is DataPathChoice => r.datapath !== undefined && /^data path: /.test(r.msg ?? ""),
    );
}

/** The appliance's gwi-/gwo- interfaces inside the container: name -> ifindex. */
export function tunInterfaces(c: Container): Record<string, number> {
  const links = JSON.parse(c.run(["ip", "-j", "link", "show"])) as {
    ifname: string;
    ifindex: number;
  }[];
  return Object.fromEntries(
    links.filter((l) => /^gw[io]-/.test(l.ifname)).map((l) => [l.ifname, l.ifindex]),
  );
}
