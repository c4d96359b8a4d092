/**
 * The table `npm run bench` ends with: reads the JSON lines scripts/bench-appliance.sh recorded
 * (one per measurement) and prints, per data path, CPU per packet (whole machine, and the
 * testbed's own processes), loss-free rates with one and two senders, round-trip times, the ratios
 * between the paths (measured in the same run) and the load the machine was under. Prints only;
 * the figures are what they are. With a second argument, also writes {refCpu, tgCpu, refNdr, tgNdr}
 * there as JSON (scripts/bench-ids.sh).
 */
import fs from "node:fs";
import os from "node:os";

interface Baseline {
  kind: "baseline";
  busyCpus: number;
  seconds: number;
}
interface Ceiling {
  kind: "ceiling";
  senders: number;
  pps: number;
}
interface Cpu {
  kind: "cpu";
  path: string;
  rate: number;
  rx: number;
  loss: number;
  bad: number;
  machineUs: number;
  testbedUs: number;
  senderUs: number;
  applianceUs: number;
  load: number;
}
interface Rtt {
  kind: "rtt";
  path: string;
  rate: number;
  p50: number;
  p99: number;
  loss: number;
}
interface Ndr {
  kind: "ndr";
  path: string;
  senders: number;
  flows: number;
  pps: number;
  emulatorShort: number;
  load: number;
}
interface Missing {
  kind: "missing";
  path: string;
  why: string;
}
interface KernelCheck {
  kind: "kernelCheck";
  toGwi: number;
}
interface FlowState {
  kind: "flowState";
  path: string;
  sent: number;
  replies: number;
  held: number;
  rssBeforeKb: number;
  rssAfterKb: number;
  map: { maxEntries: number; memlock: number } | null;
}
type Row = Baseline | Ceiling | Cpu | Rtt | Ndr | Missing | KernelCheck | FlowState;

const PATHS = ["reflect", "user", "kernel"] as const;
const LABEL: Record<string, string> = {
  reflect: "reflect (C echo)",
  user: "tollgate user",
  kernel: "tollgate kernel",
};

function median(xs: number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}

function fmt(x: number | undefined, digits = 1): string {
  return x === undefined || !Number.isFinite(x) ? "-" : x.toFixed(digits);
}

function ratio(a: number | undefined, b: number | undefined): string {
  return a === undefined || b === undefined || b === 0 ? "-" : `${(a / b).toFixed(2)}x`;
}

function main(): void {
  const resultFile = process.argv[3];
  const rows = fs
    .readFileSync(process.argv[2]!, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Row);
  const of = <K extends Row["kind"]>(kind: K) =>
    rows.filter((r): r is Extract<Row, { kind: K }> => r.kind === kind);
  const baseline = of("baseline")[0];
  const ceilings = new Map(of("ceiling").map((c) => [c.senders, c.pps]));
  const present = PATHS.filter((p) => of("cpu").some((c) => c.path === p));
  const cpu = (p: string, k: "machineUs" | "testbedUs" | "senderUs" | "applianceUs") =>
    median(
      of("cpu")
        .filter((c) => c.path === p)
        .map((c) => c[k]),
    );
  const ndr = (p: string, senders: number, flows: number) =>
    of("ndr").find((n) => n.path === p && n.senders === senders && n.flows === flows);
  const rtt = (p: string) => of("rtt").find((r) => r.path === p);
  const cpuRows = of("cpu");
  const rate = cpuRows[0]?.rate ?? 0;
  const flows = Math.min(...of("ndr").map((n) => n.flows));
  const scaling = of("ndr").some((n) => n.senders === 2);
  const scaleFlows = Math.max(...of("ndr").map((n) => n.flows));
  if (resultFile !== undefined) {
    // For scripts/bench-ids.sh: the appliance process tree's CPU and the one-sender NDR, plus the
    // testbed's and the whole machine's CPU per packet (see the script's header).
    const result = {
      refCpu: cpu("reflect", "applianceUs"),
      tgCpu: cpu("user", "applianceUs"),
      refNdr: ndr("reflect", 1, flows)?.pps,
      tgNdr: ndr("user", 1, flows)?.pps,
      tgTestbedCpu: cpu("user", "testbedUs"),
      tgMachineCpu: cpu("user", "machineUs"),
      load: os.loadavg()[0],
    };
    fs.writeFileSync(resultFile, JSON.stringify(result) + "\n");
  }

  console.log("");
  console.log(
    `bench figures (${os.cpus().length} CPUs; load average now ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")})`,
  );
  console.log(
    `  CPU-us per packet at ${rate} pps from one sender (median of ${cpuRows.length / Math.max(present.length, 1)}): ` +
      `machine = /proc/stat busy minus the idle baseline; testbed = loadgen + appliance + ksoftirqd; ` +
      `sender = loadgen alone (its softirq included)`,
  );
  console.log(
    `  ${"".padEnd(18)} ${"machine".padStart(8)} ${"testbed".padStart(8)} ${"sender".padStart(7)} ${"appl.".padStart(6)}` +
      `  ${`NDR ${flows} fl`.padStart(11)}  ${"rtt p50/p99 us".padStart(15)}` +
      (scaling ? `  ${`NDR ${scaleFlows} fl: 1 / 2 senders`.padStart(28)}  scaling` : ""),
  );
  for (const p of present) {
    const one = ndr(p, 1, scaleFlows);
    const two = ndr(p, 2, scaleFlows);
    const r = rtt(p);
    const short = [ndr(p, 1, flows), one, two].some((n) => n?.emulatorShort);
    console.log(
      `  ${LABEL[p]!.padEnd(18)} ${fmt(cpu(p, "machineUs"), 2).padStart(8)} ${fmt(cpu(p, "testbedUs"), 2).padStart(8)} ` +
        `${fmt(cpu(p, "senderUs"), 2).padStart(7)} ${fmt(cpu(p, "applianceUs"), 2).padStart(6)}` +
        `  ${String(ndr(p, 1, flows)?.pps ?? "-").padStart(11)}  ${`${fmt(r?.p50, 0)}/${fmt(r?.p99, 0)}`.padStart(15)}` +
        (scaling
          ? `  ${`${one?.pps ?? "-"} / ${two?.pps ?? "-"}`.padStart(28)}  ${ratio(two?.pps, one?.pps)}`
          : "") +
        (short ? "  (emulator could not offer some trial rates)" : ""),
    );
  }
  for (const m of of("missing"))
    console.log(`  ${LABEL[m.path] ?? m.path}: not measured (${m.why})`);

  console.log("");
  const pairs: [string, string, string][] = [
    ["kernel", "user", "targets: CPU <= 0.6x, NDR >= 2x, p99 no worse"],
    ["user", "reflect", "the user path against the ceiling of any user-space relay"],
    ["kernel", "reflect", ""],
  ];
  for (const [a, b, note] of pairs) {
    if (!present.includes(a as never) || !present.includes(b as never)) continue;
    console.log(
      `  ${a} / ${b}: CPU machine ${ratio(cpu(a, "machineUs"), cpu(b, "machineUs"))}, testbed ${ratio(cpu(a, "testbedUs"), cpu(b, "testbedUs"))}; ` +
        `NDR ${ratio(ndr(a, 1, flows)?.pps, ndr(b, 1, flows)?.pps)} (one sender), ` +
        `${ratio(ndr(a, 2, scaleFlows)?.pps, ndr(b, 2, scaleFlows)?.pps)} (two); ` +
        `rtt p99 ${ratio(rtt(a)?.p99, rtt(b)?.p99)}${note ? `   [${note}]` : ""}`,
    );
  }
  console.log(
    "  reference (gwlb-emu README, same testbed class): gwlbtun / reflect 1.80x CPU, 0.77x loss-free rate",
  );

  console.log("");
  const c1 = ceilings.get(1);
  const c2 = ceilings.get(2);
  console.log(
    `  emulator ceiling (loadgen's unpaced send rate into a sink): one sender ${c1 ?? "-"} pps, two senders ${c2 ?? "-"} pps (${ratio(c2, c1)})`,
  );
  for (const n of of("ndr")) {
    const c = ceilings.get(n.senders);
    if (c !== undefined && n.pps >= 0.9 * c) {
      console.log(
        `  ${n.path}, ${n.senders} sender(s), ${n.flows} flows: NDR ${n.pps} pps is within 10% of the emulator's ceiling: the emulator is the limit, not the data path`,
      );
    }
  }
  for (const f of of("flowState")) {
    const grew = (f.rssAfterKb - f.rssBeforeKb) * 1024;
    const user =
      f.path === "user" && f.held > 0
        ? `daemon RSS ${(f.rssBeforeKb / 1024).toFixed(0)} -> ${(f.rssAfterKb / 1024).toFixed(0)} MiB with ${f.held} flows in its table: ${(grew / f.held).toFixed(0)} B per flow`
        : `${f.held} flows in the daemon's own table, its RSS ${(f.rssBeforeKb / 1024).toFixed(0)} -> ${(f.rssAfterKb / 1024).toFixed(0)} MiB`;
    const kernel =
      f.path === "kernel" && f.map
        ? `; kernel flow map: ${f.map.maxEntries} entries preallocated, ${(f.map.memlock / 2 ** 20).toFixed(0)} MiB, ${(f.map.memlock / f.map.maxEntries).toFixed(0)} B per entry`
        : "";
    console.log(
      `  flow state, ${f.path} path, ${f.sent} distinct flows sent (${f.replies} replies): ${user}${kernel}`,
    );
  }
  for (const k of of("kernelCheck")) {
    if (k.toGwi <= 0) {
      console.log(
        `  WARNING: the kernel run's health showed no packets handled by the kernel path (toGwi ${k.toGwi}): it ran in user space`,
      );
    }
  }
  if (baseline) {
    const busy = baseline.busyCpus;
    console.log(
      `  idle baseline: ${busy.toFixed(2)} of ${os.cpus().length} CPUs busy with the testbed idle (${baseline.seconds} s); ` +
        `load average during the figures: ${fmt(Math.min(...cpuRows.map((c) => c.load)), 2)}-${fmt(Math.max(...cpuRows.map((c) => c.load)), 2)}`,
    );
    if (busy > 0.25 * os.cpus().length) {
      console.log(
        "  NOTE: other work keeps this machine busy: the whole-machine figures absorb its variation (the traffic also displaces it); " +
          "the testbed figures (processes' own CPU time, tick-accounted, softirq included) are the steadier ones here",
      );
    }
  }
}

main();
