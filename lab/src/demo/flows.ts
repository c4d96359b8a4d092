import type { FlowView } from "../emulator/config";
import type { HashMode } from "../emulator/hash";

/**
 * The emulator's flow entry a connection belongs to. With 3-/2-tuple hashing one entry holds
 * every connection between the two addresses (and, for 2-tuple, every protocol), so the client
 * port only identifies the entry under 5-tuple hashing.
 */
export function flowOf(
  flows: readonly FlowView[],
  mode: HashMode,
  c: {
    readonly protocol: number;
    readonly client: string;
    readonly server: string;
    readonly clientPort?: number;
  },
): FlowView | undefined {
  const between = (f: FlowView) =>
    (f.src === c.client && f.dst === c.server) || (f.src === c.server && f.dst === c.client);
  return flows.find((f) => {
    if (!between(f)) return false;
    if (mode === "2-tuple") return true;
    if (f.protocol !== c.protocol) return false;
    if (mode === "3-tuple" || f.srcPort === undefined || c.clientPort === undefined) return true;
    return f.src === c.client ? f.srcPort === c.clientPort : f.dstPort === c.clientPort;
  });
}
