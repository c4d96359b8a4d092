/**
 * The table `npm run bench` ends with: reads the JSON lines scripts/bench-appliance.sh recorded
 * (one per measurement) and prints, per data path, CPU per packet (the whole machine from the
 * soakers' lost work, and the testbed's own processes), where that CPU went per core, loss-free
 * rates (one sender with the appliance on its own core; one core against two cores), round-trip
 * times, the ratios between the paths (measured in the same run) and the load the machine was
 * under. Prints only; the figures are what they are. With a second argument, also writes
 * {refCpu, tgCpu, refNdr, tgNdr, tgTestbedCpu, tgMachineCpu, load} there as JSON
 * (scripts/bench-ids.sh).
 *
 * `renderBenchReport` is pure (rows and the machine in, lines out): the unit test renders it.
 */
import fs from "node:fs";
import os from "node:os";

/** /proc/stat over BASE_DUR seconds with the testbed idle and no soaker running. */
export interface StatIdle {
  kind: "statIdle";
  ns: number;
  cpus: number;
  hz: number;
  statBusyTicks: number;
  statAllTicks: number;
}
/** The soakers' work with the testbed idle: the calibration (taken before and after the CPU runs). */
export interface SoakIdle {
  kind: "soakIdle";
  when: string;
  ns: number;
  chunks: number[];
  hz: number;
  statBusyTicks: number;
  statAllTicks: number;
}
export interface Ceiling {
  kind: "ceiling";
  placement: string;
  senders: number;
  pps: number;
}
/** One fixed-rate run: one sender on CPU 0, the appliance and its receive work on CPU 1. */
export interface Cpu {
  kind: "cpu";
  path: string;
  rate: number;
  rx: number;
  loss: number;
  bad: number;
  /** CPU seconds, tick-accounted: the load generator (rusage), the appliance's tree, ksoftirqd */
  senderS: number;
  applianceS: number;
  ksoftirqdS: number;
  /** the soakers' work during the run, per CPU */
  soak: { ns: number; chunks: number[] };
  /** NET_RX softirqs raised per CPU during the run (/proc/softirqs) */
  netRx: number[];
  load: number;
}
export interface Rtt {
  kind: "rtt";
  path: string;
  rate: number;
  p50: number;
  p99: number;
  loss: number;
}
export interface Ndr {
  kind: "ndr";
  path: string;
  placement: string;
  senders: number;
  flows: number;
  pps: number;
  emulatorShort: number;
  /** the best passing trial: CPUs busy (appliance tree, senders) and NET_RX softirqs per CPU */
  atNdr: { rate: number; applianceCpus: number; sendersCpus: number; netRx: number[] } | null;
  load: number;
}
/** On which CPU the appliance-side veth's packets were received (perf), RATE pps for TRIAL s. */
export interface Where {
  kind: "where";
  path: string;
  placement: string;
  rate: number;
  rx?: number;
  /** null: perf not installed */
  rxPerCpu: number[] | null;
  /** kernel path: datagrams tg_decap counted per CPU in the same seconds (null: no map found) */
  decapPerCpu?: number[] | null;
}
export interface Missing {
  kind: "missing";
  path: string;
  why: string;
}
export interface KernelCheck {
  kind: "kernelCheck";
  toGwi: number;
}
export interface FlowState {
  kind: "flowState";
  path: string;
  sent: number;
  replies: number;
  held: number;
  rssBeforeKb: number;
  rssAfterKb: number;
  map: { maxEntries: number; memlock: number } | null;
}
export type BenchRow =
  StatIdle | SoakIdle | Ceiling | Cpu | Rtt | Ndr | Where | Missing | KernelCheck | FlowState;

/** What the report says about the machine it prints on. */
export interface BenchMachine {
  cpus: number;
  loadavg: number[];
}

const PATHS = ["reflect", "user", "kernel"] as const;
const LABEL: Record<string, string> = {
  reflect: "reflect (C echo)",
  user: "tollgate user",
  kernel: "tollgate kernel",
};
const PLACEMENT: Record<string, string> = {
  split: "one sender on CPU 0, appliance on CPU 1",
  onecore: "one sender and the appliance on CPU 0",
  twocore: "two senders, appliance on both CPUs",
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

/** The soakers' idle work rate per CPU (chunks per ns), over every idle calibration. */
export function soakRates(rows: BenchRow[]): number[] | undefined {
  const idle = rows.filter((r): r is SoakIdle => r.kind === "soakIdle");
  if (idle.length === 0) return undefined;
  const ns = idle.reduce((s, r) => s + r.ns, 0);
  return idle[0]!.chunks.map((_, c) => idle.reduce((s, r) => s + (r.chunks[c] ?? 0), 0) / ns);
}

/** Per CPU, the share of the run's wall time the soaker lost: what everything else took. */
export function busyPerCpu(run: Cpu, rates: number[]): number[] {
  return rates.map((rate, c) => 1 - (run.soak.chunks[c] ?? 0) / run.soak.ns / rate);
}

/** The CPU-us per reply of one fixed-rate run, each way. */
export function cpuFigures(run: Cpu, rates: number[] | undefined) {
  const rx = Math.max(run.rx, 1);
  const us = (s: number) => (s * 1e6) / rx;
  const busy = rates ? busyPerCpu(run, rates) : undefined;
  return {
    machineUs: busy ? us((busy.reduce((s, b) => s + b, 0) * run.soak.ns) / 1e9) : undefined,
    busy,
    testbedUs: us(run.senderS + run.applianceS + run.ksoftirqdS),
    senderUs: us(run.senderS),
    applianceUs: us(run.applianceS),
  };
}

/** Everything the CLI prints, as lines. */
export function renderBenchReport(rows: BenchRow[], machine: BenchMachine): string[] {
  const out: string[] = [];
  const say = (line = "") => out.push(line);
  const of = <K extends BenchRow["kind"]>(kind: K) =>
    rows.filter((r): r is Extract<BenchRow, { kind: K }> => r.kind === kind);
  const rates = soakRates(rows);
  const cpuRuns = of("cpu");
  const figures = (p: string) =>
    cpuRuns.filter((c) => c.path === p).map((c) => cpuFigures(c, rates));
  type Key = "machineUs" | "testbedUs" | "senderUs" | "applianceUs";
  const cpu = (p: string, k: Key) =>
    median(
      figures(p)
        .map((f) => f[k])
        .filter((x): x is number => x !== undefined),
    );
  // a path is in the table as soon as anything was measured for it
  const present = PATHS.filter((p) =>
    rows.some((r) => (r.kind === "cpu" || r.kind === "ndr" || r.kind === "rtt") && r.path === p),
  );
  const ndr = (p: string, placement: string) =>
    of("ndr").find((n) => n.path === p && n.placement === placement);
  const rtt = (p: string) => of("rtt").find((r) => r.path === p);
  const rate = cpuRuns[0]?.rate ?? 0;
  const flowsOf = (placement: string) => of("ndr").find((n) => n.placement === placement)?.flows;
  const scaling = of("ndr").some((n) => n.placement === "twocore");
  const cpus = machine.cpus;
  const reps = Math.max(...present.map((p) => figures(p).length), 0);

  say("");
  say(
    `bench figures (${cpus} CPUs; load average now ${machine.loadavg.map((x) => x.toFixed(2)).join(" ")})`,
  );
  say(
    `  CPU-us per packet at ${rate} pps, ${PLACEMENT.split} (median of ${reps}; machine per rep in brackets): ` +
      `machine = work the idle-priority soakers lost, all CPUs; testbed = loadgen + appliance + ksoftirqd (tick-accounted); ` +
      `sender = loadgen alone; busy = the machine's share of each CPU (median rep)`,
  );
  say(
    `  ${"".padEnd(18)} ${"machine".padStart(8)} ${"(reps)".padEnd(20)} ${"busy CPU0/1".padStart(11)} ${"testbed".padStart(8)} ${"sender".padStart(7)} ${"appl.".padStart(6)}`,
  );
  for (const p of present) {
    const fs_ = figures(p);
    const med = cpu(p, "machineUs");
    const medRun = fs_.find((f) => f.machineUs === med);
    say(
      `  ${LABEL[p]!.padEnd(18)} ${fmt(med, 2).padStart(8)} ${`(${fs_.map((f) => fmt(f.machineUs, 1)).join(" ")})`.padEnd(20)} ` +
        `${(medRun?.busy ? medRun.busy.map((b) => b.toFixed(2)).join("/") : "-").padStart(11)} ` +
        `${fmt(cpu(p, "testbedUs"), 2).padStart(8)} ${fmt(cpu(p, "senderUs"), 2).padStart(7)} ${fmt(cpu(p, "applianceUs"), 2).padStart(6)}`,
    );
  }
  for (const m of of("missing")) say(`  ${LABEL[m.path] ?? m.path}: not measured (${m.why})`);
  // what the machine figure must satisfy to be believed (printed, not asserted: a benchmark)
  const sane = present.flatMap((p) => {
    const ms = figures(p)
      .map((f) => f.machineUs)
      .filter((x): x is number => x !== undefined);
    const m = cpu(p, "machineUs");
    const appl = cpu(p, "applianceUs");
    if (m === undefined || appl === undefined) return [];
    const spread = ms.length > 1 ? (Math.max(...ms) - Math.min(...ms)) / Math.abs(m) : 0;
    return [
      `${p} spread ${(100 * spread).toFixed(0)}% of the median, machine >= appl. ${m >= appl ? "yes" : "NO"}`,
    ];
  });
  if (sane.length > 0) {
    const ru = [cpu("reflect", "machineUs"), cpu("user", "machineUs")];
    const order =
      ru[0] !== undefined && ru[1] !== undefined
        ? `; machine reflect < user ${ru[0] < ru[1] ? "yes" : "NO"}`
        : "";
    say(`  machine figure across reps: ${sane.join("; ")}${order}`);
  }

  say("");
  say(
    `  loss-free rate (pps; < 0.1% loss, no corrupted reply, replies keeping pace) and rtt at ${rtt(present[0] ?? "")?.rate ?? "-"} pps:`,
  );
  say(
    `  ${"".padEnd(18)} ${`NDR ${flowsOf("split") ?? "-"} fl, appl. CPU 1`.padStart(24)}  ${"rtt p50/p99 us".padStart(15)}` +
      (scaling
        ? `  ${`NDR ${flowsOf("twocore") ?? "-"} fl: 1 core / 2 cores`.padStart(30)}  scaling`
        : ""),
  );
  for (const p of present) {
    const one = ndr(p, "onecore");
    const two = ndr(p, "twocore");
    const r = rtt(p);
    const short = [ndr(p, "split"), one, two].some((n) => n?.emulatorShort);
    say(
      `  ${LABEL[p]!.padEnd(18)} ${String(ndr(p, "split")?.pps ?? "-").padStart(24)}  ${`${fmt(r?.p50, 0)}/${fmt(r?.p99, 0)}`.padStart(15)}` +
        (scaling
          ? `  ${`${one?.pps ?? "-"} / ${two?.pps ?? "-"}`.padStart(30)}  ${ratio(two?.pps, one?.pps)}`
          : "") +
        (short ? "  (emulator could not offer some trial rates)" : ""),
    );
  }

  say("");
  const pairs: [string, string, string][] = [
    ["kernel", "user", "targets: CPU <= 0.6x, NDR >= 2x, p99 no worse"],
    ["user", "reflect", "the user path against the ceiling of any user-space relay"],
    ["kernel", "reflect", ""],
  ];
  for (const [a, b, note] of pairs) {
    if (!present.includes(a as never) || !present.includes(b as never)) continue;
    say(
      `  ${a} / ${b}: CPU machine ${ratio(cpu(a, "machineUs"), cpu(b, "machineUs"))}, testbed ${ratio(cpu(a, "testbedUs"), cpu(b, "testbedUs"))}; ` +
        `NDR ${ratio(ndr(a, "split")?.pps, ndr(b, "split")?.pps)} (one sender), ` +
        `${ratio(ndr(a, "twocore")?.pps, ndr(b, "twocore")?.pps)} (two cores); ` +
        `rtt p99 ${ratio(rtt(a)?.p99, rtt(b)?.p99)}${note ? `   [${note}]` : ""}`,
    );
  }
  say(
    "  reference (gwlb-emu README, same testbed class): gwlbtun / reflect 1.80x CPU, 0.77x loss-free rate",
  );

  say("");
  say("  where the work ran:");
  for (const p of present) {
    const runs = cpuRuns.filter((c) => c.path === p);
    const netRx = runs[0]?.netRx.map((_, c) => runs.reduce((s, r) => s + (r.netRx[c] ?? 0), 0));
    if (netRx) {
      say(
        `    ${LABEL[p]!.padEnd(18)} at ${rate} pps (${PLACEMENT.split}): NET_RX softirqs per CPU ${netRx.join(" / ")} over ${runs.length} run(s)`,
      );
    }
    for (const w of of("where").filter((x) => x.path === p)) {
      const total = w.rxPerCpu?.reduce((a, b) => a + b, 0) ?? 0;
      say(
        `    ${LABEL[p]!.padEnd(18)} ${(PLACEMENT[w.placement] ?? w.placement).padEnd(40)} at ${w.rate} pps: ` +
          (w.rxPerCpu
            ? `the appliance-side veth received ${w.rxPerCpu.map((n) => `${n} (${total ? ((100 * n) / total).toFixed(0) : "-"}%)`).join(" / ")} packets per CPU (perf)`
            : "per-CPU receive counts not measured (perf not installed)") +
          (w.decapPerCpu ? `; tg_decap counted ${w.decapPerCpu.join(" / ")}` : ""),
      );
    }
    for (const n of of("ndr").filter((x) => x.path === p)) {
      const at = n.atNdr;
      say(
        `    ${LABEL[p]!.padEnd(18)} ${(PLACEMENT[n.placement] ?? n.placement).padEnd(40)} at ${at?.rate ?? "-"} pps: ` +
          (at
            ? `appliance process ${at.applianceCpus.toFixed(2)} CPUs, senders ${at.sendersCpus.toFixed(2)} CPUs, NET_RX softirqs per CPU ${at.netRx.join(" / ")}`
            : "no passing trial"),
      );
    }
  }

  say("");
  const ceilings = of("ceiling");
  say(
    `  emulator ceiling (loadgen's unpaced send rate into a sink, pps): ` +
      (ceilings.map((c) => `${c.placement} ${c.pps}`).join(", ") || "-"),
  );
  for (const n of of("ndr")) {
    const c = ceilings.find((x) => x.placement === n.placement)?.pps;
    if (c !== undefined && n.pps >= 0.9 * c) {
      say(
        `  ${n.path}, ${n.placement}, ${n.flows} flows: NDR ${n.pps} pps is within 10% of the emulator's ceiling: the emulator is the limit, not the data path`,
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
    say(
      `  flow state, ${f.path} path, ${f.sent} distinct flows sent (${f.replies} replies): ${user}${kernel}`,
    );
  }
  for (const k of of("kernelCheck")) {
    if (k.toGwi <= 0) {
      say(
        `  WARNING: the kernel run's health showed no packets handled by the kernel path (toGwi ${k.toGwi}): it ran in user space`,
      );
    }
  }

  const soakIdle = of("soakIdle");
  if (rates && soakIdle.length > 0) {
    const perCal = soakIdle.map(
      (s) => `${s.when} ${s.chunks.map((c) => ((c / s.ns) * 1e9).toFixed(0)).join("/")}`,
    );
    say(
      `  soak calibration (chunks/s per CPU with the testbed idle): ${perCal.join("; ")}; ` +
        `the machine figure uses their mean`,
    );
    const idleRate = (s: SoakIdle, c: number) => (s.chunks[c] ?? 0) / s.ns;
    const moved = Math.max(
      ...soakIdle.flatMap((s) => rates.map((r, c) => Math.abs(idleRate(s, c) / r - 1))),
    );
    if (moved > 0.05) {
      say(
        `  NOTE: the idle calibration moved ${(100 * moved).toFixed(0)}% from its mean between before and after: ` +
          "other work on the machine changed during the run, and the machine figures carry that change",
      );
    }
  }
  for (const s of [...of("statIdle"), ...soakIdle]) {
    const n = s.kind === "statIdle" ? s.cpus : s.chunks.length;
    const seen = s.statAllTicks / ((n * s.hz * s.ns) / 1e9);
    say(
      `  /proc/stat, testbed idle${s.kind === "soakIdle" ? `, soakers running (${s.when})` : ", no soaker"}: ` +
        `accounts ${(100 * seen).toFixed(0)}% of the elapsed CPU time, ${((s.statBusyTicks / s.hz / s.ns) * 1e9).toFixed(2)} CPUs busy`,
    );
  }
  const busyIdle = of("statIdle").map((s) => (s.statBusyTicks / s.hz / s.ns) * 1e9);
  if (busyIdle.some((b) => b > 0.25 * cpus)) {
    say(
      `  NOTE: other work kept ${Math.max(...busyIdle).toFixed(2)} of ${cpus} CPUs busy with the testbed idle: the soakers then ` +
        "compete with it and the testbed displaces it, so the machine figures are not to be trusted (the testbed figures, " +
        "each process's own CPU time, are the steadier ones); rerun on a quiet machine",
    );
  }
  if (cpuRuns.length > 0) {
    say(
      `  load average during the CPU figures: ${fmt(Math.min(...cpuRuns.map((c) => c.load)), 2)}-${fmt(Math.max(...cpuRuns.map((c) => c.load)), 2)}`,
    );
  }
  return out;
}

/** For scripts/bench-ids.sh: the appliance's and the machine's CPU, the one-sender NDR. */
export function benchResult(rows: BenchRow[], load: number) {
  const rates = soakRates(rows);
  const med = (p: string, k: "machineUs" | "testbedUs" | "applianceUs") =>
    median(
      rows
        .filter((r): r is Cpu => r.kind === "cpu" && r.path === p)
        .map((c) => cpuFigures(c, rates)[k])
        .filter((x): x is number => x !== undefined),
    );
  const ndr = (p: string) =>
    rows.find((r): r is Ndr => r.kind === "ndr" && r.path === p && r.placement === "split")?.pps;
  return {
    refCpu: med("reflect", "applianceUs"),
    tgCpu: med("user", "applianceUs"),
    refNdr: ndr("reflect"),
    tgNdr: ndr("user"),
    tgTestbedCpu: med("user", "testbedUs"),
    tgMachineCpu: med("user", "machineUs"),
    load,
  };
}

function main(): void {
  const rows = fs
    .readFileSync(process.argv[2]!, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as BenchRow);
  const resultFile = process.argv[3];
  if (resultFile !== undefined) {
    fs.writeFileSync(resultFile, JSON.stringify(benchResult(rows, os.loadavg()[0] ?? 0)) + "\n");
  }
  for (const line of renderBenchReport(rows, { cpus: os.cpus().length, loadavg: os.loadavg() }))
    console.log(line);
}

if (require.main === module) main();
