import { strict as assert } from "node:assert";
import { benchResult, renderBenchReport, type BenchRow } from "@tollgate/testbed";

const MACHINE = { cpus: 2, loadavg: [0.5, 0.6, 0.7] };
const S = 1e9; // ns per second

/** Soakers doing 100,000 chunks per second on each CPU with the testbed idle (before and after). */
const calibration: BenchRow[] = [
  { kind: "statIdle", ns: 5 * S, cpus: 2, hz: 100, statBusyTicks: 10, statAllTicks: 840 },
  ...(["before", "after"] as const).map((when): BenchRow => ({
    kind: "soakIdle",
    when,
    ns: 5 * S,
    chunks: [500_000, 500_000],
    hz: 100,
    statBusyTicks: 1000,
    statAllTicks: 1000,
  })),
];

/** A 10-second run at 20 kpps in which the soakers lost `lost` of their idle work per CPU. */
function cpuRun(path: string, lost: [number, number], applianceS = 1): BenchRow {
  return {
    kind: "cpu",
    path,
    rate: 20000,
    rx: 200_000,
    loss: 0,
    bad: 0,
    senderS: 3,
    applianceS,
    ksoftirqdS: 0.5,
    soak: { ns: 10 * S, chunks: lost.map((l) => Math.round(1_000_000 * (1 - l))) },
    netRx: [100, 2000],
    load: 0.8,
  };
}

function ndr(path: string, placement: string, pps: number): BenchRow {
  const senders = placement === "twocore" ? 2 : 1;
  const flows = placement === "split" ? 64 : 1024;
  const atNdr = { rate: pps, applianceCpus: 0.9, sendersCpus: 1.1, netRx: [5, 7] };
  return { kind: "ndr", path, placement, senders, flows, pps, emulatorShort: 0, atNdr, load: 1 };
}

const PATHS = ["reflect", "user", "kernel"];

function fullRun(): BenchRow[] {
  const lost: Record<string, [number, number]> = {
    reflect: [0.3, 0.2],
    user: [0.3, 0.35],
    kernel: [0.3, 0.05],
  };
  return [
    ...calibration,
    { kind: "ceiling", placement: "split", senders: 1, pps: 250_000 },
    { kind: "ceiling", placement: "onecore", senders: 1, pps: 140_000 },
    { kind: "ceiling", placement: "twocore", senders: 2, pps: 220_000 },
    ...PATHS.map((p) => cpuRun(p, lost[p]!)),
    ...PATHS.flatMap((p, i): BenchRow[] => [
      { kind: "rtt", path: p, rate: 1000, p50: 20 + i, p99: 100 + i, loss: 0 },
      ndr(p, "split", 100_000 + i * 1000),
      ndr(p, "onecore", 50_000 + i * 1000),
      ndr(p, "twocore", 90_000 + i * 1000),
      {
        kind: "where",
        path: p,
        placement: "split",
        rate: 20000,
        rx: 100_000,
        rxPerCpu: [0, 100_000],
        decapPerCpu: p === "kernel" ? [0, 50_000] : null,
      },
    ]),
  ];
}

/** The line of a table that starts with the path's label, after `header`. */
function rowAfter(lines: string[], header: RegExp, label: string): string {
  const from = lines.findIndex((l) => header.test(l));
  assert.ok(from >= 0, `no header ${header}`);
  const row = lines.slice(from + 1).find((l) => l.trimStart().startsWith(label));
  assert.ok(row, `no row ${label} after ${header}:\n${lines.join("\n")}`);
  return row;
}

describe("npm run bench report", () => {
  it("prints a row for every measured path, the kernel path included, in both tables", () => {
    const lines = renderBenchReport(fullRun(), MACHINE);
    for (const label of ["reflect (C echo)", "tollgate user", "tollgate kernel"]) {
      rowAfter(lines, /machine \(reps\)/, label);
      rowAfter(lines, /rtt p50\/p99 us/, label);
    }
    assert.ok(lines.some((l) => l.startsWith("  kernel / user:")));
  });

  it("keeps a path measured only for its loss-free rate (its CPU runs failed)", () => {
    const rows = fullRun().filter((r) => !(r.kind === "cpu" && r.path === "kernel"));
    const lines = renderBenchReport(rows, MACHINE);
    assert.match(rowAfter(lines, /rtt p50\/p99 us/, "tollgate kernel"), / 102000 /);
    assert.match(
      rowAfter(lines, /machine \(reps\)/, "tollgate kernel"),
      /^\s+tollgate kernel\s+- /,
    );
  });

  it("computes the machine figure from the soakers' lost work against the idle calibration", () => {
    // kernel: CPU 0 lost 30%, CPU 1 5% over 10 s = 3.5 CPU-s for 200,000 replies = 17.5 us;
    // testbed 3 + 1 + 0.5 s = 22.5 us, sender 15 us, appliance 5 us
    const kernel = rowAfter(
      renderBenchReport(fullRun(), MACHINE),
      /machine \(reps\)/,
      "tollgate kernel",
    );
    assert.match(
      kernel,
      /^\s+tollgate kernel\s+17\.50 \(17\.5\)\s+0\.30\/0\.05\s+22\.50\s+15\.00\s+5\.00$/,
    );
  });

  it("prints the machine figure's spread across reps and whether it is sane", () => {
    const lines = renderBenchReport(fullRun(), MACHINE);
    const line = lines.find((l) => l.startsWith("  machine figure across reps:")) ?? "";
    assert.match(line, /kernel spread 0% of the median, machine >= appl\. yes/);
    assert.match(line, /machine reflect < user yes/);
    const odd = fullRun().map((r) =>
      r.kind === "cpu" && r.path === "user" ? cpuRun("user", [0, 0.01]) : r,
    );
    const oddLine = renderBenchReport(odd, MACHINE).find((l) =>
      l.startsWith("  machine figure across reps:"),
    );
    assert.match(oddLine ?? "", /user spread 0% of the median, machine >= appl\. NO/);
    assert.match(oddLine ?? "", /machine reflect < user NO/);
  });

  it("takes the median rep and uses the machine figure for the ratios", () => {
    const rows: BenchRow[] = [
      ...calibration,
      cpuRun("user", [0.3, 0.3]), // 30 us
      cpuRun("user", [0.3, 0.5]), // 40 us
      cpuRun("user", [0.3, 0.1]), // 20 us
      cpuRun("kernel", [0.2, 0.1]), // 15 us
    ];
    const lines = renderBenchReport(rows, MACHINE);
    assert.match(
      rowAfter(lines, /machine \(reps\)/, "tollgate user"),
      /30\.00 \(30\.0 40\.0 20\.0\)/,
    );
    assert.match(lines.find((l) => l.startsWith("  kernel / user:")) ?? "", /CPU machine 0\.50x/);
  });

  it("reports scaling as two cores over one core, and where the receive work ran", () => {
    const lines = renderBenchReport(fullRun(), MACHINE);
    assert.match(
      rowAfter(lines, /1 core \/ 2 cores/, "tollgate kernel"),
      /52000 \/ 92000\s+1\.77x/,
    );
    assert.ok(
      lines.some((l) =>
        /tollgate kernel .* received 0 \(0%\) \/ 100000 \(100%\) packets per CPU \(perf\); tg_decap counted 0 \/ 50000$/.test(
          l,
        ),
      ),
    );
    assert.ok(lines.some((l) => /appliance process 0\.90 CPUs, senders 1\.10 CPUs/.test(l)));
  });

  it("prints what /proc/stat accounted: 840 of 1000 ticks is 84%", () => {
    const lines = renderBenchReport(fullRun(), MACHINE);
    assert.ok(lines.some((l) => /no soaker: accounts 84% of the elapsed CPU time/.test(l)));
  });

  it("says so when the idle calibration moved during the run, and not otherwise", () => {
    const note = (rows: BenchRow[]) =>
      renderBenchReport(rows, MACHINE).some((l) => l.includes("NOTE: the idle calibration moved"));
    assert.equal(note(fullRun()), false);
    const moved = fullRun().map((r) =>
      r.kind === "soakIdle" && r.when === "after" ? { ...r, chunks: [500_000, 300_000] } : r,
    );
    assert.equal(note(moved), true);
  });

  it("warns when other work kept the machine busy with the testbed idle", () => {
    const warned = (rows: BenchRow[]) =>
      renderBenchReport(rows, MACHINE).some((l) => l.includes("NOTE: other work kept"));
    assert.equal(warned(fullRun()), false);
    const busy = fullRun().map((r) => (r.kind === "statIdle" ? { ...r, statBusyTicks: 990 } : r));
    assert.equal(warned(busy), true);
  });

  it("gives bench:ids the user path's machine figure and one-sender NDR", () => {
    const r = benchResult(fullRun(), 1.5);
    assert.equal(r.tgNdr, 101_000);
    assert.equal(r.refNdr, 100_000);
    assert.equal(r.tgMachineCpu?.toFixed(2), "32.50");
    assert.equal(r.load, 1.5);
  });
});
