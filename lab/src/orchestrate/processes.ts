import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { EmulatorConfig } from "../emulator/config";
import { applianceFiles, labRulesFile, tlsFiles } from "./suricata";
import type { FailoverMode } from "../emulator/balancer";
import type { HashMode } from "../emulator/hash";
import type { HealthCheckSettings } from "../emulator/health";
import type { ServerConfig } from "../agent/server";
import type { ApplianceNode, LabTopology } from "../topology/plan";
import {
  GWLB_OTHER_IDLE_TIMEOUT_SECONDS,
  GWLB_TCP_IDLE_TIMEOUT_SECONDS,
} from "@tollgate/appliance";

/** A process the lab runs inside one of its namespaces (`ip netns exec NS argv...`). */
export interface ProcessSpec {
  /** "emulator", "server", "client", "app1", ... */
  readonly name: string;
  readonly ns: string;
  readonly argv: readonly string[];
  /** stdout and stderr go here. */
  readonly logFile: string;
}

export interface LabRunOptions {
  /** Rules file every appliance daemon loads (`tollgate --rules`). */
  readonly rulesFile: string;
  readonly hashMode: HashMode;
  readonly failover: FailoverMode;
  readonly health: HealthCheckSettings;
  /** TCP ports the internet server listens on besides HTTP and echo (the blocked-port checks). */
  readonly extraTcpPorts: readonly number[];
  readonly extraUdpPorts: readonly number[];
  /**
   * What runs in the appliance namespaces: the real `tollgate` daemon, or a GENEVE reflector
   * (no rules: every packet passes) for checking the lab itself. Defaults to "tollgate".
   */
  readonly appliance?: "tollgate" | "reflector";
  /** Extra arguments appended to the daemon's command line (e.g. "--log-level", "debug"). */
  readonly daemonArgs?: readonly string[];
}

/** Files of the installed packages the lab runs. */
export interface LabPaths {
  readonly node: string;
  readonly labDist: string;
  readonly applianceBin: string;
}

export function defaultPaths(): LabPaths {
  const appliancePkg = require.resolve("@tollgate/appliance/package.json");
  return {
    node: process.execPath,
    labDist: path.resolve(__dirname, ".."),
    applianceBin: path.join(path.dirname(appliancePkg), "bin", "tollgate.js"),
  };
}

export function emulatorConfig(t: LabTopology, o: LabRunOptions): EmulatorConfig {
  return {
    tun: t.gwlb.tun,
    tunMtu: t.gwlb.tunMtu,
    listenAddress: t.gwlb.address,
    endpointIdHex: t.gwlb.endpointId.toString(16),
    attachmentIdHex: t.gwlb.attachmentId.toString(16),
    targets: t.appliances.map((a) => ({
      name: a.name,
      address: a.address,
      healthPort: a.healthPort,
    })),
    hashMode: o.hashMode,
    failover: o.failover,
    health: o.health,
    controlSocket: t.gwlb.controlSocket,
    tcpIdleMs: GWLB_TCP_IDLE_TIMEOUT_SECONDS * 1000,
    otherIdleMs: GWLB_OTHER_IDLE_TIMEOUT_SECONDS * 1000,
  };
}

export const SERVER_HTTP_PORT = 80;
export const SERVER_ECHO_PORT = 7;

export function serverSocket(t: LabTopology): string {
  return `${t.stateDir}/server.sock`;
}

export function clientSocket(t: LabTopology): string {
  return `${t.stateDir}/client.sock`;
}

/**
 * The appliance daemon's command line: the real `tollgate` command with the real rules file,
 * its health endpoint on the port the emulator checks, replies to the GWLB on UDP 6081.
 */
export function applianceArgv(
  paths: LabPaths,
  app: ApplianceNode,
  rulesFile: string,
  kind: "tollgate" | "reflector" = "tollgate",
  extra: readonly string[] = [],
  config?: string,
): string[] {
  if (kind === "reflector") {
    return [paths.node, path.join(paths.labDist, "agent", "reflector.js"), String(app.healthPort)];
  }
  return [
    paths.node,
    paths.applianceBin,
    "-p",
    String(app.healthPort),
    "--rules",
    rulesFile,
    ...(config ? ["--config", config] : []),
    ...extra,
  ];
}

/** Every process of the lab, in start order (pure). */
export function processSpecs(t: LabTopology, o: LabRunOptions, paths: LabPaths): ProcessSpec[] {
  const server: ServerConfig = {
    httpPort: SERVER_HTTP_PORT,
    echoPort: SERVER_ECHO_PORT,
    extraTcpPorts: o.extraTcpPorts,
    extraUdpPorts: o.extraUdpPorts,
    tls: tlsFiles(t),
  };
  return [
    {
      name: "server",
      ns: t.namespaces.internet,
      argv: [
        paths.node,
        path.join(paths.labDist, "agent", "main.js"),
        "server",
        JSON.stringify(server),
        serverSocket(t),
      ],
      logFile: `${t.stateDir}/server.log`,
    },
    {
      name: "client",
      ns: t.namespaces.client,
      argv: [paths.node, path.join(paths.labDist, "agent", "main.js"), "client", clientSocket(t)],
      logFile: `${t.stateDir}/client.log`,
    },
    {
      name: "emulator",
      ns: t.namespaces.gwlb,
      argv: [
        paths.node,
        path.join(paths.labDist, "emulator", "main.js"),
        JSON.stringify(emulatorConfig(t, o)),
      ],
      logFile: `${t.stateDir}/emulator.log`,
    },
    ...t.appliances.map((a) => ({
      name: a.name,
      ns: a.ns,
      // The daemons run the lab's copy of the rules file (prepareLabFiles) with their own config.
      argv: applianceArgv(
        paths,
        a,
        labRulesFile(t),
        o.appliance,
        o.daemonArgs,
        applianceFiles(t, a).config,
      ),
      logFile: `${t.stateDir}/${a.name}.log`,
    })),
  ];
}

/** `ip netns exec` argv for a spec. */
export function execArgv(spec: ProcessSpec): string[] {
  return ["ip", "netns", "exec", spec.ns, ...spec.argv];
}

export interface RunningProcess {
  readonly spec: ProcessSpec;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves with the exit code (or signal name) when the process ends. */
  readonly exited: Promise<string>;
}

/**
 * Starts a spec. `ip netns exec` execs the command in place, so the pid is the program's own.
 * Detached processes (`lab up`) keep running after the controller exits.
 */
export function startProcess(spec: ProcessSpec, detached: boolean): RunningProcess {
  const fd = fs.openSync(spec.logFile, "a");
  const [file, ...args] = execArgv(spec);
  const child = spawn(file!, args, { stdio: ["ignore", fd, fd], detached });
  fs.closeSync(fd);
  if (detached) child.unref();
  const exited = new Promise<string>((resolve) => {
    child.once("exit", (code, signal) => resolve(signal ?? String(code)));
    child.once("error", (e) => resolve(`error ${e.message}`));
  });
  if (child.pid === undefined)
    throw new Error(`could not start ${spec.name}: ${execArgv(spec).join(" ")}`);
  fs.writeFileSync(`${path.dirname(spec.logFile)}/${spec.name}.pid`, `${child.pid}\n`);
  return { spec, pid: child.pid, child, exited };
}

/** Last lines of a process's log, for error messages. */
export function logTail(spec: ProcessSpec, lines = 12): string {
  try {
    return fs.readFileSync(spec.logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}
