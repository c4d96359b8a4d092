import { endpointsByLoadBalancer, listOf } from "../model/backing";
import type { AttachmentNode } from "../model/topology";
import { AWS_DOCS, reportBlame, topologyPolicy } from "./common";

/**
 * Configurable (2- or 3-tuple) flow stickiness does not work when the GWLB endpoints are reached
 * through a Transit Gateway attachment with appliance mode (AWS launch note for configurable flow
 * stickiness); appliance mode is required there, so the target group must use 5-tuple.
 *
 * Severity: high. AWS: {@link AWS_DOCS.stickinessApplianceMode}
 */
export const gwlbStickinessApplianceMode = topologyPolicy(
  {
    name: "tollgate-gwlb-stickiness-appliance-mode",
    description:
      "A target group behind GWLB endpoints reached through a Transit Gateway attachment with appliance mode must use 5-tuple flows (2-/3-tuple stickiness does not work with TGW appliance mode).",
    severity: "high",
    url: AWS_DOCS.stickinessApplianceMode,
    remediationSteps:
      "Remove stickiness from the target group (5-tuple, the default); keep applianceModeSupport enabled on the Transit Gateway attachment.",
    enforcementLevel: "mandatory",
  },
  (t, _args, report) => {
    const byLb = endpointsByLoadBalancer(t);
    for (const tg of t.targetGroups) {
      if (!tg.stickiness) continue;
      const attachments = new Set<AttachmentNode>();
      for (const l of tg.listeners) {
        const lb = t.loadBalancers.find((b) => b.listeners.includes(l));
        for (const e of (lb && byLb.get(lb)) ?? []) {
          for (const a of e.vpc.attachments) if (a.applianceMode === "enable") attachments.add(a);
        }
      }
      if (attachments.size === 0) continue;
      const names = listOf([...attachments].map((a) => a.label));
      reportBlame(
        report,
        {
          nodes: [tg, ...attachments],
          fix: `remove stickiness from ${tg.label} (5-tuple); ${names} needs appliance mode.`,
        },
        tg,
        `${tg.label} uses ${tg.stickiness} stickiness, but its GWLB endpoints are reached through ${names} with appliance mode: configurable flow stickiness does not work behind a Transit Gateway with appliance mode.`,
      );
    }
  },
);
