/** Suricata's state as Prometheus metrics, read from the manager at scrape time. */
import { Counter, Gauge, type Registry } from "prom-client";
import type { SuricataManager } from "./manager";

export function registerSuricataMetrics(registry: Registry, manager: SuricataManager): void {
  const status = () => manager.status();
  const gauges: [string, string, () => boolean][] = [
    [
      "tollgate_suricata_enabled",
      "1 while the rules file has a suricata: section",
      () => status().enabled,
    ],
    [
      "tollgate_suricata_up",
      "1 while Suricata inspects (ips: listens on its NFQUEUE; ids: runs)",
      () => status().up,
    ],
    [
      "tollgate_suricata_fail_open",
      "1 while fail-open is active: ips with failure: open and Suricata not on its queue (traffic passes uninspected)",
      () => status().failOpen,
    ],
  ];
  for (const [name, help, read] of gauges) {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read() ? 1 : 0);
      },
    });
  }
  new Counter({
    name: "tollgate_suricata_restarts_total",
    help: "Suricata exits while it should run (each followed by a restart with backoff)",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(status().process.crashes);
    },
  });
  new Counter({
    name: "tollgate_suricata_reloads_total",
    help: "rule changes by outcome: ok (reloaded), failed (reload or update failed), refused (suricata -T or the plan refused them; the running rules stay)",
    labelNames: ["outcome"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [outcome, n] of Object.entries(status().reloads)) this.inc({ outcome }, n);
    },
  });
}
