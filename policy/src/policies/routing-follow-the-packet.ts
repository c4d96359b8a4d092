import { followThePacket } from "../model/follow";
import { PacketPath, renderPath } from "../model/walk";
import type { ReportViolation } from "@pulumi/policy/policy";
import { AWS_DOCS, exemptSubnetsSchema, isListed, reportBlame, topologyPolicy } from "./common";

/** Reports a path's first problem on the resource whose change fixes it. */
function reportPath(report: ReportViolation, p: PacketPath, outbound?: PacketPath): void {
  const first = p.problems[0];
  reportBlame(report, first?.blame, p.subnet, describe(p, outbound));
}

function describe(p: PacketPath, outbound?: PacketPath): string {
  const what = p.problems.map((x) => x.text).join("; ");
  const dir =
    p.direction === "outbound"
      ? `path from ${p.subnet.label} to ${p.dest.text}`
      : `return path to ${p.dest.text} (${p.subnet.label})`;
  return `${dir}: ${what}\n${renderPath(p, outbound)}`;
}

/**
 * Follow the packet: walks the route tables from every inspected subnet to its exit (internet
 * gateway, NAT gateway, ...) and back, and reports the hop list when a path skips inspection,
 * crosses Availability Zones, or returns through a different GWLB endpoint.
 *
 * Severity: critical. AWS: {@link AWS_DOCS.gwlbRouting}
 */
export const routingFollowThePacket = topologyPolicy(
  {
    name: "tollgate-routing-follow-the-packet",
    description:
      "Every path from an inspected subnet (or a spoke behind the Transit Gateway) to its exit and back must pass exactly one GWLB endpoint, in the subnet's AZ, the same one in both directions.",
    severity: "critical",
    url: AWS_DOCS.gwlbRouting,
    remediationSteps:
      "Change the resource named in the violation's `to fix:` line (the route, table or association of the first wrong hop): outbound, the subnet's routes must reach the same-AZ GWLB endpoint before any gateway (spokes: the transit gateway); on return, the edge route table (or the NAT subnet's route table) must send the reply to that same endpoint.",
    enforcementLevel: "mandatory",
    configSchema: {
      properties: {
        ...exemptSubnetsSchema,
        spokeCidrs: {
          type: "array",
          items: { type: "string" },
          default: [],
          description: "Extra spoke CIDRs whose replies are walked for TGW attachment subnets.",
        },
      },
    },
  },
  (t, args, report) => {
    const cfg = args.getConfig<{ exemptSubnets?: string[]; spokeCidrs?: string[] }>();
    const walks = followThePacket(t, {
      include: (s) => !isListed(s, cfg.exemptSubnets) && s.rt !== undefined,
      spokeCidrs: cfg.spokeCidrs ?? [],
      spokes: true,
    });
    for (const { outbound: out, returns, spoke } of walks) {
      if (out.path.problems.length > 0) {
        reportPath(report, out.path);
        continue;
      }
      if (!out.endpoint && !spoke) continue;
      for (const back of returns) {
        if (back.problems.length > 0) reportPath(report, back, out.path);
      }
    }
  },
);
