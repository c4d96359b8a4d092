/**
 * The world outside the booted instance, in one network namespace the test creates (the "GWLB
 * side"): it is the container's default gateway, hosts the S3 and instance-metadata stand-in
 * (`fixtures/standin.js`), probes the appliance's health port like the GWLB's health check and
 * sends GENEVE with the project's GWLB emulator (the same fixture the data-path tier uses).
 *
 * The container's namespace is the testbed's appliance side; nothing is created in the host's.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type {
  DatapathStatus,
  EndpointStatus,
  KernelPathStatus,
  StatusCounters,
} from "@tollgate/appliance";
import {
  createTestbed,
  sh,
  spawnInNs,
  type NsChild,
  type Testbed,
} from "../appliance/integration/netns";
import { onCleanup } from "./cleanup";
import { waitUntil } from "./container";

/** The instance metadata service's address (IMDSv2). */
export const IMDS_ADDRESS = "169.254.169.254";
/** Port of the S3 stand-in on the GWLB-side address. */
export const S3_PORT = 9000;
const EMULATE = path.join(__dirname, "..", "appliance", "integration", "fixtures", "emulate.js");

export interface StandinRequest {
  readonly service: "s3" | "imds";
  readonly method: string;
  readonly url: string;
  readonly status: number;
}

export interface HealthAnswer {
  /** HTTP status, or 0 when the connection failed. */
  readonly status: number;
  readonly body: string;
  /** The report's state and reasons (the body is asked for as JSON). */
  readonly state?: string;
  readonly reasons?: readonly string[];
  /** Which data path runs and, on the kernel path, its attachment and punts. */
  readonly datapath?: {
    readonly path?: DatapathStatus["datapath"];
    readonly kernel?: KernelPathStatus;
    readonly counters?: StatusCounters;
  };
  readonly endpoints?: readonly EndpointStatus[];
}

export interface EmulationResult {
  sent: number;
  received: number;
  valid: number;
  invalid: number;
  exact: number;
  ttlDecremented: number;
  lost: number;
  warmupSent: number;
  /** Replies to earlier (warm-up) packets that arrived during the measured phase. */
  late: number;
  problems: Record<string, number>;
}

export interface Traffic {
  /** Settles with the summary once the emulator has exited. */
  readonly result: Promise<EmulationResult>;
  /** Whether the emulator has exited (sent everything it was asked to, or failed). */
  readonly done: () => boolean;
  /** Ends the measured phase now. */
  end(): void;
}

export interface GwlbSide {
  readonly bed: Testbed;
  /** Network namespace to hand to systemd-nspawn. */
  readonly applianceNetns: string;
  readonly applianceAddress: string;
  /** The stand-in's S3 endpoint URL (the user data's `s3EndpointUrl` seam). */
  readonly s3EndpointUrl: string;
  /** Stores an object for the S3 stand-in. */
  putObject(bucket: string, key: string, from: string): void;
  /** Every request the stand-in answered so far. */
  requests(): StandinRequest[];
  /** One GET of the appliance's health port, as the GWLB's health check does it (JSON body). */
  health(port: number, urlPath: string): HealthAnswer;
  /** Sends GENEVE with the project's emulator and returns its summary. */
  emulate(args: Record<string, unknown>, timeoutMs: number): Promise<EmulationResult>;
  /**
   * Starts paced GENEVE that runs until `end()` (or `rounds` are sent): the emulator's measured
   * phase ends, its replies drain and `result` gives the summary.
   */
  startTraffic(args: Record<string, unknown>, timeoutMs: number): Traffic;
  stop(): Promise<void>;
}

/**
 * Creates the namespaces (container side gets a default route through the GWLB side, which
 * also owns the metadata address) and starts the stand-in serving objects from `objectsDir`.
 */
export async function startGwlbSide(options: {
  tag: string;
  objectsDir: string;
  region: string;
  /**
   * An address in one of the GWLB's subnets: the GWLB side sends GENEVE and health checks from
   * it (the appliance accepts GENEVE only from the GWLB's subnets).
   */
  gwlbAddress: string;
  /** TX checksum offload of the veth pair (false: complete checksums, as a NIC delivers). */
  txChecksum: boolean;
}): Promise<GwlbSide> {
  const bed = createTestbed(options.tag, { txChecksum: options.txChecksum });
  const destroyBed = onCleanup(`delete namespaces ${bed.gw} ${bed.ap}`, () => bed.destroy());
  sh("ip", ["-n", bed.ap, "route", "add", "default", "via", bed.gwAddress]);
  sh("ip", ["-n", bed.gw, "addr", "add", `${IMDS_ADDRESS}/32`, "dev", "lo"]);
  sh("ip", ["-n", bed.gw, "addr", "add", `${options.gwlbAddress}/32`, "dev", "lo"]);
  // Traffic to the appliance leaves from the GWLB's address (the container routes it back
  // through its default gateway, this namespace).
  const link = `${bed.gwAddress.replace(/\.\d+$/, ".0")}/24`; // the testbed's veth subnet
  sh("ip", ["-n", bed.gw, "route", "change", link, "dev", "gw0", "src", options.gwlbAddress]);
  const standin: NsChild = spawnInNs(bed.gw, process.execPath, [
    path.join(__dirname, "fixtures", "standin.js"),
    JSON.stringify({
      dir: options.objectsDir,
      s3: { host: bed.gwAddress, port: S3_PORT },
      imds: { host: IMDS_ADDRESS, port: 80 },
      region: options.region,
    }),
  ]);
  const killStandin = onCleanup("stop the S3/IMDS stand-in", () => {
    standin.child.kill("SIGKILL");
  });
  const lines = (): Record<string, unknown>[] =>
    standin
      .stdout()
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  await waitUntil("the S3/IMDS stand-in to listen", 10000, () => {
    if (standin.child.exitCode !== null) throw new Error(`stand-in exited: ${standin.stderr()}`);
    return lines().some((l) => l.ready === true) ? true : undefined;
  });
  return {
    bed,
    applianceNetns: bed.ap,
    applianceAddress: bed.apAddress,
    s3EndpointUrl: `http://${bed.gwAddress}:${S3_PORT}`,
    putObject(bucket, key, from) {
      const dest = path.join(options.objectsDir, bucket, key);
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      fs.copyFileSync(from, dest);
    },
    requests: () => lines().filter((l) => l.service !== undefined) as unknown as StandinRequest[],
    health(port, urlPath) {
      try {
        const out = bed.exec(bed.gw, "curl", [
          "--silent",
          "--max-time",
          "3",
          "--output",
          "-",
          "--header",
          "Accept: application/json",
          "--write-out",
          "\n%{http_code}",
          `http://${bed.apAddress}:${port}${urlPath}`,
        ]);
        const cut = out.lastIndexOf("\n");
        const body = out.slice(0, cut);
        let report: Omit<HealthAnswer, "status" | "body"> = {};
        try {
          report = JSON.parse(body) as typeof report;
        } catch {
          // not a JSON report (e.g. an older appliance): status and body only
        }
        return { status: Number(out.slice(cut + 1)), body, ...report };
      } catch (err) {
        return { status: 0, body: String(err) };
      }
    },
    emulate(args, timeoutMs) {
      return startEmulator(bed, args, timeoutMs).result;
    },
    startTraffic(args, timeoutMs) {
      return startEmulator(bed, { ...args, untilSigterm: true }, timeoutMs);
    },
    async stop() {
      await standin.stop(2000);
      killStandin();
      destroyBed();
    },
  };
}

/** Runs the emulator in the GWLB-side namespace, SIGKILLed after `timeoutMs`. */
function startEmulator(bed: Testbed, args: Record<string, unknown>, timeoutMs: number): Traffic {
  const child = spawnInNs(bed.gw, process.execPath, [
    EMULATE,
    JSON.stringify({ target: bed.apAddress, ...args }),
  ]);
  const timer = setTimeout(() => child.child.kill("SIGKILL"), timeoutMs);
  let exited = false;
  const result = child.exited.then((code) => {
    exited = true;
    clearTimeout(timer);
    if (code !== 0)
      throw new Error(`emulator exited ${code} (limit ${timeoutMs} ms): ${child.stderr()}`);
    return JSON.parse(child.stdout().trim().split("\n").pop()!) as EmulationResult;
  });
  return { result, done: () => exited, end: () => child.child.kill("SIGTERM") };
}
