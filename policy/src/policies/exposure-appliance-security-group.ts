import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy/policy";
import { Cidr, contains, parseCidr } from "../model/cidr";
import type { StackIndex } from "../model/stack-index";
import { topologyOf } from "../model/topology";
import { T } from "../model/types";
import { arr, bag, Bag, num, str } from "../model/values";
import { AWS_DOCS } from "./common";

interface Rule {
  readonly where: PolicyResource;
  readonly label: string;
  readonly protocol: string;
  readonly from?: number;
  readonly to?: number;
  readonly cidrs: string[];
  readonly prefixLists: string[];
}

const PROTO: Record<string, string> = { "17": "udp", "6": "tcp", all: "-1" };
const proto = (v: unknown): string => {
  const s = (str(v) ?? String(v ?? "")).toLowerCase();
  return PROTO[s] ?? s;
};

function inlineRules(sg: PolicyResource): Rule[] {
  return arr(bag(sg.props).ingress).map((x, i) => {
    const r = bag(x);
    return {
      where: sg,
      label: `security group "${sg.name}" ingress #${i + 1}`,
      protocol: proto(r.protocol),
      from: num(r.fromPort),
      to: num(r.toPort),
      cidrs: [...arr(r.cidrBlocks), ...arr(r.ipv6CidrBlocks)].map(String),
      prefixLists: arr(r.prefixListIds).map(String),
    };
  });
}

function ruleOf(r: PolicyResource, p: Bag): Rule {
  const v2 = r.type === T.sgIngressRule;
  return {
    where: r,
    label: `security group rule "${r.name}"`,
    protocol: proto(v2 ? p.ipProtocol : p.protocol),
    from: num(p.fromPort),
    to: num(p.toPort),
    cidrs: v2
      ? [str(p.cidrIpv4), str(p.cidrIpv6)].filter((c): c is string => !!c)
      : [...arr(p.cidrBlocks), ...arr(p.ipv6CidrBlocks)].map(String),
    prefixLists: v2
      ? [str(p.prefixListId)].filter((c): c is string => !!c)
      : arr(p.prefixListIds).map(String),
  };
}

/**
 * CIDRs of the subnets of each VPC's Gateway Load Balancers (where their network interfaces, the
 * only senders of GENEVE and health checks, live), keyed by VPC URN. A VPC maps to undefined when
 * one of those CIDRs is not known (preview), so callers fall back to the VPC check.
 */
function gwlbSubnetCidrsByVpc(
  resources: readonly PolicyResource[],
  idx: StackIndex,
): Map<string, Cidr[] | undefined> {
  const out = new Map<string, Cidr[] | undefined>();
  for (const lb of resources) {
    const p = bag(lb.props);
    if (lb.type !== T.lb || str(p.loadBalancerType) !== "gateway") continue;
    const mapped = arr(p.subnetMappings).map((m) => bag(m).subnetId);
    const subnets = [
      ...idx.refs(lb, "subnets", arr(p.subnets), [T.subnet]),
      ...idx.refs(lb, "subnetMappings", mapped, [T.subnet]),
    ];
    for (const sn of subnets) {
      const sp = bag(sn.props);
      const vpc = idx.ref(sn, "vpcId", sp.vpcId, [T.vpc]);
      if (!vpc) continue;
      const cidrs = [str(sp.cidrBlock), str(sp.ipv6CidrBlock)].filter((c) => c !== undefined);
      const parsed = cidrs.map(parseCidr);
      const known = out.has(vpc.urn) ? out.get(vpc.urn) : [];
      out.set(
        vpc.urn,
        known && str(sp.cidrBlock) !== undefined && parsed.every((c) => c !== undefined)
          ? [...known, ...(parsed as Cidr[])]
          : undefined,
      );
    }
  }
  return out;
}

/**
 * Appliance security groups (those used by launch templates) accept only UDP 6081 and the health
 * check port, and only from the subnets of the VPC's Gateway Load Balancer (from inside the VPC
 * when the stack does not show them).
 *
 * Severity: high. AWS: {@link AWS_DOCS.applianceSecurityGroups}
 */
export const exposureApplianceSecurityGroup: StackValidationPolicy = {
  name: "tollgate-exposure-appliance-security-group",
  description:
    "Appliance security groups must accept only UDP 6081 (GENEVE) and the health-check port, only from the Gateway Load Balancer's subnets (or, when the stack does not show them, from inside the inspection VPC).",
  severity: "high",
  url: AWS_DOCS.applianceSecurityGroups,
  remediationSteps:
    "Keep two ingress rules: UDP 6081 and TCP <health port>, both from the CIDRs of the GWLB's subnets; remove every other rule (management goes through SSM).",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      healthPorts: {
        type: "array",
        items: { type: "integer" },
        default: [],
        description:
          "Extra health-check ports (the GENEVE target groups' health-check ports are always allowed).",
      },
    },
  },
  validateStack: (args, report) => {
    const { healthPorts = [] } = args.getConfig<{ healthPorts?: number[] }>();
    const t = topologyOf(args.resources);
    const idx = t.index;
    const ports = new Set<number>(healthPorts);
    const gwlbCidrs = gwlbSubnetCidrsByVpc(args.resources, idx);
    const applianceSgs = new Map<string, PolicyResource>();
    const rules = new Map<string, Rule[]>();
    for (const r of args.resources) {
      const p = bag(r.props);
      if (r.type === T.targetGroup && str(p.protocol) === "GENEVE") {
        const hp = num(bag(p.healthCheck).port);
        if (hp !== undefined) ports.add(hp);
      } else if (r.type === T.launchTemplate) {
        for (const sg of idx.refs(r, "vpcSecurityGroupIds", arr(p.vpcSecurityGroupIds), [
          T.securityGroup,
        ]))
          applianceSgs.set(sg.urn, sg);
        const nested = arr(p.networkInterfaces).flatMap((n) => arr(bag(n).securityGroups));
        for (const sg of idx.refs(r, "networkInterfaces", nested, [T.securityGroup]))
          applianceSgs.set(sg.urn, sg);
      } else if ((r.type === T.sgRule && str(p.type) === "ingress") || r.type === T.sgIngressRule) {
        const sg = idx.ref(r, "securityGroupId", p.securityGroupId, [T.securityGroup]);
        if (!sg) continue;
        const list = rules.get(sg.urn) ?? [];
        list.push(ruleOf(r, p));
        rules.set(sg.urn, list);
      }
    }
    for (const sg of applianceSgs.values()) {
      const vpcRes = idx.ref(sg, "vpcId", bag(sg.props).vpcId, [T.vpc]);
      const vpc = vpcRes ? t.vpcByKey.get(vpcRes.urn) : undefined;
      const gwlb = vpcRes ? gwlbCidrs.get(vpcRes.urn) : undefined;
      for (const rule of [...inlineRules(sg), ...(rules.get(sg.urn) ?? [])]) {
        const single = rule.from !== undefined && rule.from === rule.to ? rule.from : undefined;
        const okPort =
          (rule.protocol === "udp" && single === 6081) ||
          (rule.protocol === "tcp" && single !== undefined && ports.has(single));
        if (!okPort) {
          const range =
            rule.from === undefined
              ? ""
              : rule.from === rule.to
                ? ` ${rule.from}`
                : ` ${rule.from}-${rule.to}`;
          report(
            `${rule.label} on appliance security group "${sg.name}" allows ${rule.protocol === "-1" ? "all traffic" : `${rule.protocol}${range}`}; only UDP 6081 and the health port${ports.size ? ` (${[...ports].join(", ")})` : ""} are allowed.`,
            rule.where.urn,
          );
        }
        for (const pl of rule.prefixLists) {
          report(
            `${rule.label} on appliance security group "${sg.name}" allows prefix list ${pl}; use the inspection VPC CIDR.`,
            rule.where.urn,
          );
        }
        for (const c of rule.cidrs) {
          const parsed = parseCidr(c);
          if (!parsed) continue;
          if (vpc && vpc.cidrs.length > 0 && !vpc.cidrs.some((v) => contains(v, parsed))) {
            report(
              `${rule.label} on appliance security group "${sg.name}" allows ${c}, outside ${vpc.label} (${vpc.cidrs.map((v) => v.text).join(", ")}).`,
              rule.where.urn,
            );
          } else if (gwlb && gwlb.length > 0 && !gwlb.some((g) => contains(g, parsed))) {
            report(
              `${rule.label} on appliance security group "${sg.name}" allows ${c}, wider than the Gateway Load Balancer's subnets (${gwlb.map((g) => g.text).join(", ")}); only the GWLB sends GENEVE and health checks.`,
              rule.where.urn,
            );
          }
        }
      }
    }
  },
};
