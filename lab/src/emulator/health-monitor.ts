import * as http from "node:http";
import {
  parseMatcher,
  TargetHealth,
  type CheckOutcome,
  type HealthCheckSettings,
  type HealthState,
  type Transition,
} from "./health";

export interface HealthTarget {
  readonly name: string;
  readonly address: string;
  readonly port: number;
}

/** Performs one health check. */
export type HealthProbe = (
  target: HealthTarget,
  settings: HealthCheckSettings,
) => Promise<CheckOutcome>;

/** HTTP GET like a target group's health check: status matched against the matcher, with a timeout. */
export const httpHealthProbe: HealthProbe = (target, settings) => {
  const matches = parseMatcher(settings.matcher);
  return new Promise((resolve) => {
    let done = false;
    const finish = (o: CheckOutcome) => {
      if (!done) {
        done = true;
        resolve(o);
      }
    };
    const req = http.get(
      {
        host: target.address,
        port: target.port,
        path: settings.path,
        timeout: settings.timeoutMs,
        agent: false,
      },
      (res) => {
        const status = res.statusCode ?? 0;
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          if (body.length < 200) body += c;
        });
        res.on("end", () => {
          const first = body.trim().split("\n")[0] ?? "";
          finish({
            ok: matches(status),
            detail: `${status}${first ? ` ${first.slice(0, 80)}` : ""}`,
          });
        });
        res.on("error", (e) => finish({ ok: false, detail: e.message }));
      },
    );
    req.on("timeout", () => {
      req.destroy();
      finish({ ok: false, detail: `timeout after ${settings.timeoutMs} ms` });
    });
    req.on("error", (e: NodeJS.ErrnoException) =>
      finish({ ok: false, detail: e.code ?? e.message }),
    );
  });
};

export interface TargetHealthSnapshot {
  readonly name: string;
  readonly state: HealthState;
  readonly detail: string;
  readonly checks: number;
}

/** Checks every target on an interval and reports state transitions. */
export class HealthMonitor {
  private readonly health = new Map<string, TargetHealth>();
  private readonly inFlight = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly targets: readonly HealthTarget[],
    private readonly settings: HealthCheckSettings,
    private readonly probe: HealthProbe,
    private readonly onTransition: (target: string, t: Transition, detail: string) => void,
  ) {
    for (const t of targets) this.health.set(t.name, new TargetHealth(settings));
  }

  /** Runs one round of checks (skipping targets whose previous check is still running). */
  async checkAll(): Promise<void> {
    await Promise.all(
      this.targets.map(async (t) => {
        if (this.inFlight.has(t.name)) return;
        this.inFlight.add(t.name);
        try {
          const outcome = await this.probe(t, this.settings);
          const h = this.health.get(t.name)!;
          const tr = h.record(outcome);
          if (tr) this.onTransition(t.name, tr, outcome.detail);
        } finally {
          this.inFlight.delete(t.name);
        }
      }),
    );
  }

  start(): void {
    void this.checkAll();
    this.timer = setInterval(() => void this.checkAll(), this.settings.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  snapshot(): TargetHealthSnapshot[] {
    return this.targets.map((t) => {
      const h = this.health.get(t.name)!;
      return { name: t.name, state: h.state, detail: h.detail, checks: h.checks };
    });
  }
}
