/**
 * The reply direction of a traffic match: source and destination swapped. Every match key is
 * classified in REPLY_FIELDS (kept, swapped with its counterpart, or mapped), and the table's
 * type lists every key of TrafficMatch, so a key added to the schema does not compile until it
 * is classified here.
 */
import type { TrafficMatch } from "./schema";

type MatchKey = keyof TrafficMatch;

/** Each key's value, present. */
type Values = { [K in MatchKey]-?: NonNullable<TrafficMatch[K]> };

/**
 * One entry per key of TrafficMatch, no more, no less: the key's value as the reply carries it
 * (under the same key, its counterpart's, or mapped). The return type admits a counterpart only
 * if it takes the same values.
 */
export type ReplyTable = {
  readonly [K in keyof Values]: (value: Values[K]) => Partial<TrafficMatch>;
};

const OPPOSITE = { in: "out", out: "in", any: "any" } as const;

export const REPLY_FIELDS: ReplyTable = {
  // kept
  proto: (proto) => ({ proto }),
  family: (family) => ({ family }),
  comment: (comment) => ({ comment }),
  // swapped with their counterpart
  src: (src) => ({ dst: src }),
  dst: (dst) => ({ src: dst }),
  ports: (ports) => ({ sourcePorts: ports }),
  sourcePorts: (sourcePorts) => ({ ports: sourcePorts }),
  // mapped
  direction: (direction) => ({ direction: OPPOSITE[direction] }),
};

function replyPart<K extends keyof Values>(key: K, value: Values[K]): Partial<TrafficMatch> {
  return REPLY_FIELDS[key](value);
}

/** The reply direction of `match`. */
export function replyOf(match: TrafficMatch): TrafficMatch {
  const parts = (Object.keys(REPLY_FIELDS) as MatchKey[]).map((key) => {
    const value = match[key];
    return value === undefined ? {} : replyPart(key, value);
  });
  return Object.assign({}, ...parts) as TrafficMatch;
}

/**
 * A traffic match and its replies: Suricata must see both directions of a connection to track
 * its stream and parse TLS/HTTP.
 */
export function bothDirections(match: TrafficMatch): [TrafficMatch, TrafficMatch] {
  return [match, replyOf(match)];
}
