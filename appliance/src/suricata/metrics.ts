/** Suricata's state as Prometheus metrics, read from the manager at scrape time. */
import { Counter, Gauge, type Registry } from "prom-client";
import type { SuricataManager, SuricataRuntimeStatus } from "./manager";

type Status = () => SuricataRuntimeStatus;

/** Name, help and value of each metric of one kind. */
type Table<T> = readonly (readonly [string, string, (s: SuricataRuntimeStatus) => T])[];

const GAUGES: Table<boolean> = [
  ["tollgate_suricata_enabled", "1 while the rules file has a suricata: section", (s) => s.enabled],
  [
    "tollgate_suricata_up",
    "1 while Suricata inspects (ips: listens on its NFQUEUE; ids: runs)",
    (s) => s.up,
  ],
  [
    "tollgate_suricata_fail_open",
    "1 while fail-open is active: ips with failure: open and Suricata not on its queue (traffic passes uninspected)",
    (s) => s.failOpen,
  ],
];

const COUNTERS: Table<number> = [
  [
    "tollgate_suricata_restarts_total",
    "Suricata exits while it should run (each followed by a restart with backoff)",
    (s) => s.process.crashes,
  ],
  [
    "tollgate_suricata_leftovers_stopped_total",
    "Suricatas a previous daemon left running (killed daemon), found by their pidfile and stopped before a new one started",
    (s) => s.leftoversStopped,
  ],
];

export function registerSuricataMetrics(registry: Registry, manager: SuricataManager): void {
  const status: Status = () => manager.status();
  const registers = [registry];
  for (const [name, help, read] of GAUGES)
    new Gauge({ name, help, registers, collect: gaugeFrom(status, read) });
  for (const [name, help, read] of COUNTERS)
    new Counter({ name, help, registers, collect: counterFrom(status, read) });
  new Counter({
    name: "tollgate_suricata_reloads_total",
    help: "rule changes by outcome: ok (reloaded), failed (reload or update failed), refused (suricata -T or the plan refused them; the running rules stay)",
    labelNames: ["outcome"],
    registers,
    collect() {
      this.reset();
      for (const [outcome, n] of Object.entries(status().reloads)) this.inc({ outcome }, n);
    },
  });
}

function gaugeFrom(status: Status, read: (s: SuricataRuntimeStatus) => boolean) {
  return function (this: Gauge) {
    this.set(read(status()) ? 1 : 0);
  };
}

function counterFrom(status: Status, read: (s: SuricataRuntimeStatus) => number) {
  return function (this: Counter) {
    this.reset();
    this.inc(read(status()));
  };
}
