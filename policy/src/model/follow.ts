/**
 * Follow the packet over a whole topology: the one route walk that the follow-the-packet policy
 * and `npm run plan` share. Inspected subnets are walked out and back; with `spokes`, so are the
 * spoke subnets behind a Transit Gateway (spoke -> TGW -> inspection VPC -> exit, and back).
 */
import { lookup, inspectedSubnets, subnetDest } from "./lookup";
import type { Dest, SubnetNode, Topology } from "./nodes";
import { crossTgw, spokeSubnets } from "./tgw";
import { blameRoute } from "./blame";
import {
  addHop,
  addProblem,
  appendPath,
  azText,
  newPath,
  OutboundResult,
  PacketPath,
  replyDestinations,
  walkDestinations,
  walkOutbound,
  walkReturn,
} from "./walk";

export interface FollowOptions {
  /** Subnets to walk from (default: all inspected subnets). */
  readonly include?: (s: SubnetNode) => boolean;
  /** Extra spoke CIDRs whose replies are walked for TGW attachment subnets. */
  readonly spokeCidrs?: readonly string[];
  /** Also walk spoke subnets across the Transit Gateway (default false). */
  readonly spokes?: boolean;
}

/** One outbound walk from an inspected (or spoke) subnet and the walks of its replies. */
export interface SubnetWalk {
  readonly subnet: SubnetNode;
  readonly spoke: boolean;
  readonly outbound: OutboundResult;
  readonly returns: PacketPath[];
}

/**
 * Follow the packet over a whole topology: for every inspected subnet and every destination that
 * leaves it, the outbound walk and the return walks (one per reply destination). Returns that
 * cannot be decided (unknown during preview) or that have no way back are left out.
 */
export function followThePacket(t: Topology, opts: FollowOptions = {}): SubnetWalk[] {
  const out: SubnetWalk[] = [];
  for (const s of inspectedSubnets(t)) {
    if (opts.include && !opts.include(s)) continue;
    for (const dest of walkDestinations(s)) {
      const outbound = walkOutbound(s, dest);
      const returns: PacketPath[] = [];
      for (const reply of replyDestinations(t, s, dest.family ?? 4, opts.spokeCidrs ?? [])) {
        const back = walkReturn(s, outbound, reply);
        if (back) returns.push(back);
      }
      out.push({ subnet: s, spoke: false, outbound, returns });
    }
  }
  if (opts.spokes) {
    for (const s of spokeSubnets(t)) {
      if (opts.include && !opts.include(s)) continue;
      for (const dest of walkDestinations(s)) out.push(walkSpoke(s, dest));
    }
  }
  return out;
}

/** A spoke subnet's path: to the Transit Gateway, through the inspection VPC, and back. */
function walkSpoke(s: SubnetNode, dest: Dest): SubnetWalk {
  const path = newPath("outbound", s, dest);
  const done = (outbound: OutboundResult, returns: PacketPath[] = []): SubnetWalk => ({
    subnet: s,
    spoke: true,
    outbound,
    returns,
  });
  addHop(path, `${s.label}${azText(s.az)}`, s);
  const r = s.rt ? lookup(s.rt, dest) : undefined;
  if (!s.rt || !r) {
    addHop(
      path,
      s.rt ? `${s.rt.label}: no route for ${dest.text} (dropped)` : "no route table (dropped)",
      s.rt ?? s,
    );
    return done({ path });
  }
  addHop(
    path,
    `${s.rt.label}: ${r.dest.text} -> ${r.target.label}`,
    r.source.urn ? r.source : s.rt,
  );
  if (r.target.kind === "unknown") {
    path.outcome = "unknown";
    return done({ path });
  }
  if (r.target.kind === "local") {
    path.outcome = "delivered";
    return done({ path });
  }
  if (r.target.kind !== "tgw") {
    addHop(path, `exit: ${r.target.label}`, r.target.node);
    addProblem(
      path,
      "skips-inspection",
      `leaves through ${r.target.label} instead of the Transit Gateway to the inspection VPC`,
      blameRoute(s, s.rt, r, "the transit gateway (the inspection VPC inspects the spokes)"),
    );
    path.outcome = "delivered";
    return done({ path });
  }
  const leg = crossTgw(s.vpc, dest, s.az);
  appendPath(path, leg);
  if (!leg.to) return done({ path });
  const rest = walkOutbound(leg.to, dest);
  appendPath(path, rest.path);
  if (leg.to.vpc.endpoints.length === 0 && rest.path.outcome === "delivered") {
    const rt = leg.rt;
    addProblem(
      path,
      "skips-inspection",
      `the Transit Gateway sends the spoke's traffic to ${leg.to.vpc.label}, which has no GWLB endpoint`,
      rt && {
        nodes: rt.urn ? [rt] : [],
        fix: `route ${dest.text} in ${rt.label} to the inspection VPC's attachment.`,
      },
    );
  }
  path.outcome = rest.path.outcome;
  path.inspectedBy = rest.path.inspectedBy;
  path.exit = rest.path.exit;
  const outbound: OutboundResult = { ...rest, path };
  const reply = subnetDest(s, dest.family ?? 4);
  const back = reply ? walkReturn(leg.to, rest, reply) : undefined;
  if (!reply || !back) return done(outbound);
  const ret = newPath("return", s, reply);
  appendPath(ret, back);
  ret.inspectedBy = back.inspectedBy;
  ret.outcome = back.outcome;
  if (back.outcome === "delivered" && back.exit === "tgw") {
    const home = crossTgw(leg.to.vpc, reply, s.az);
    appendPath(ret, home);
    ret.outcome = "dropped";
    if (home.to && home.to.vpc === s.vpc) {
      addHop(ret, `delivered to ${s.label}${azText(s.az)}`, s);
      ret.outcome = "delivered";
    } else if (home.to) {
      addHop(ret, `the reply enters ${home.to.vpc.label}, not ${s.vpc.label}`, home.to);
      ret.outcome = "misrouted";
    }
  }
  return done(outbound, [ret]);
}

/** Plain verdict of a path, as shown by `npm run plan` and checked by `--check`. */
export interface PathVerdict {
  /** Passed a GWLB endpoint and nothing on the path skips inspection. */
  readonly inspected: boolean;
  /** No endpoint in another AZ, and the reply uses the endpoint the packet left through. */
  readonly sameAz: boolean;
  readonly delivered: boolean;
  readonly text: string;
}

export function verdictOf(p: PacketPath): PathVerdict {
  const inspected =
    p.inspectedBy !== undefined && !p.problems.some((x) => x.kind === "skips-inspection");
  const sameAz = !p.problems.some(
    (x) => x.kind === "crosses-az" || x.kind === "different-endpoint",
  );
  const delivered = p.outcome === "delivered";
  const text =
    p.outcome === "unknown"
      ? "UNDECIDED (unknown during preview)"
      : !delivered
        ? "NOT DELIVERED"
        : !inspected
          ? "NOT INSPECTED"
          : p.problems.some((x) => x.kind === "different-endpoint")
            ? "INSPECTED, RETURNS THROUGH ANOTHER ENDPOINT"
            : !sameAz
              ? "INSPECTED, CROSSES AZ"
              : "inspected, same AZ";
  return { inspected, sameAz, delivered, text };
}
