/**
 * Target health as a GWLB target group computes it: a target starts `initial`, becomes
 * `healthy` after `healthyThreshold` consecutive passing checks and `unhealthy` after
 * `unhealthyThreshold` consecutive failing ones; from then on the same thresholds move it back
 * and forth. Pure: the checks themselves are injected.
 */

export type HealthState = "initial" | "healthy" | "unhealthy";

export interface HealthCheckSettings {
  /** Milliseconds between checks of one target. Defaults to 500 in the lab (AWS: 5-300 s). */
  readonly intervalMs: number;
  /** A check that has not answered after this many milliseconds fails. Defaults to 400 (AWS: 2-120 s). */
  readonly timeoutMs: number;
  /** Consecutive passes that make a target healthy. Defaults to 2 (AWS: 2-10). */
  readonly healthyThreshold: number;
  /** Consecutive failures that make a target unhealthy. Defaults to 2 (AWS: 2-10). */
  readonly unhealthyThreshold: number;
  /** HTTP path checked. Defaults to "/". */
  readonly path: string;
  /** Status codes counted as passing, as "200-399" or "200,204". Defaults to "200-399" (the GWLB default). */
  readonly matcher: string;
}

export const DEFAULT_HEALTH: HealthCheckSettings = {
  intervalMs: 500,
  timeoutMs: 400,
  healthyThreshold: 2,
  unhealthyThreshold: 2,
  path: "/",
  matcher: "200-399",
};

/** Validates settings; throws with the offending field. */
export function resolveHealthSettings(s: Partial<HealthCheckSettings> = {}): HealthCheckSettings {
  const r = { ...DEFAULT_HEALTH, ...s };
  const int = (name: string, v: number, lo: number, hi: number) => {
    if (!Number.isInteger(v) || v < lo || v > hi)
      throw new Error(`invalid health check ${name} ${v}: use ${lo}-${hi}`);
  };
  int("intervalMs", r.intervalMs, 50, 300_000);
  int("timeoutMs", r.timeoutMs, 10, 120_000);
  int("healthyThreshold", r.healthyThreshold, 1, 10);
  int("unhealthyThreshold", r.unhealthyThreshold, 1, 10);
  if (r.timeoutMs >= r.intervalMs) {
    throw new Error(
      `invalid health check: timeoutMs ${r.timeoutMs} must be less than intervalMs ${r.intervalMs}`,
    );
  }
  if (!r.path.startsWith("/"))
    throw new Error(`invalid health check path "${r.path}": must start with /`);
  parseMatcher(r.matcher);
  return r;
}

/** Parses "200-399" / "200,202,204" / "200-299,302" into a predicate. Throws on bad syntax. */
export function parseMatcher(m: string): (status: number) => boolean {
  const ranges: Array<[number, number]> = [];
  for (const part of m.split(",")) {
    const match = /^\s*(\d{3})(?:\s*-\s*(\d{3}))?\s*$/.exec(part);
    if (!match)
      throw new Error(`invalid health check matcher "${m}": use e.g. "200-399" or "200,204"`);
    const lo = Number(match[1]);
    const hi = match[2] === undefined ? lo : Number(match[2]);
    if (hi < lo) throw new Error(`invalid health check matcher "${m}": range ${lo}-${hi} is empty`);
    ranges.push([lo, hi]);
  }
  return (status) => ranges.some(([lo, hi]) => status >= lo && status <= hi);
}

export interface CheckOutcome {
  readonly ok: boolean;
  /** e.g. "200", "503 no traffic", "ECONNREFUSED", "timeout after 400 ms". */
  readonly detail: string;
}

export interface Transition {
  readonly from: HealthState;
  readonly to: HealthState;
}

/** One target's health state machine. */
export class TargetHealth {
  private stateValue: HealthState = "initial";
  private passes = 0;
  private failures = 0;
  private lastDetail = "not checked yet";
  checks = 0;

  constructor(
    private readonly settings: Pick<HealthCheckSettings, "healthyThreshold" | "unhealthyThreshold">,
  ) {}

  get state(): HealthState {
    return this.stateValue;
  }

  get detail(): string {
    return this.lastDetail;
  }

  /** Records one check; returns the transition if the state changed. */
  record(outcome: CheckOutcome): Transition | undefined {
    this.checks++;
    this.lastDetail = outcome.detail;
    if (outcome.ok) {
      this.passes++;
      this.failures = 0;
      if (this.stateValue !== "healthy" && this.passes >= this.settings.healthyThreshold) {
        return this.move("healthy");
      }
    } else {
      this.failures++;
      this.passes = 0;
      if (this.stateValue !== "unhealthy" && this.failures >= this.settings.unhealthyThreshold) {
        return this.move("unhealthy");
      }
    }
    return undefined;
  }

  private move(to: HealthState): Transition {
    const t = { from: this.stateValue, to };
    this.stateValue = to;
    return t;
  }
}
