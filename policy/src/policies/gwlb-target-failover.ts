import { T } from "../model/types";
import { AWS_DOCS, forTypes, ResourceValidationPolicy } from "./common";

const VALID = new Set(["rebalance", "no_rebalance"]);

/**
 * GWLB target failover: `onDeregistration` and `onUnhealthy` are equal and use the AWS snake_case
 * values (`rebalance`, `no_rebalance`), whatever the provider docstrings show.
 *
 * Severity: medium. AWS: {@link AWS_DOCS.targetGroups}
 */
export const gwlbTargetFailover: ResourceValidationPolicy = {
  name: "tollgate-gwlb-target-failover",
  description:
    'targetFailovers onDeregistration and onUnhealthy must be equal and one of "rebalance", "no_rebalance".',
  severity: "medium",
  url: `${AWS_DOCS.targetGroups}#target-failover`,
  remediationSteps:
    'Use targetFailovers: [{ onDeregistration: "rebalance", onUnhealthy: "rebalance" }] (snake_case values, both equal).',
  enforcementLevel: "mandatory",
  validateResource: forTypes([T.targetGroup], (props, args, report) => {
    const list = props.targetFailovers as Record<string, unknown>[] | undefined;
    if (!list) return;
    for (const f of list) {
      const dereg = String(f.onDeregistration);
      const unhealthy = String(f.onUnhealthy);
      for (const [k, v] of [
        ["onDeregistration", dereg],
        ["onUnhealthy", unhealthy],
      ] as const) {
        if (!VALID.has(v)) {
          const hint = v === "noRebalance" ? ' (AWS expects snake_case "no_rebalance")' : "";
          report(
            `target group "${args.name}" targetFailovers.${k} is "${v}"${hint}; use "rebalance" or "no_rebalance".`,
          );
        }
      }
      if (dereg !== unhealthy) {
        report(
          `target group "${args.name}" targetFailovers differ (onDeregistration "${dereg}", onUnhealthy "${unhealthy}"); AWS requires both to be equal.`,
        );
      }
    }
  }),
};
