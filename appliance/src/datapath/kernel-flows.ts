/**
 * The kernel path's flow-state turnover: how many flows tg_flows holds, how many tg_decap created
 * and how many the kernel evicted, since this daemon started.
 *
 * - created: tg_decap counts each flow it inserts (lookup missed, BPF_NOEXIST insert won: two
 *   CPUs racing on one new flow count it once) in the per-CPU counter KernelCounter.FLOWS_CREATED.
 * - present: the map's element count, read in O(1) through bpf/tollgate-count.bpf.c (a bpf_map
 *   iterator calling the kfunc bpf_map_sum_elem_count: the per-CPU counters a hash map keeps since
 *   Linux 6.6, LRU hashes included). It needs the kernel's BTF; without it the count (and so the
 *   evictions) is unavailable, said so in the status, and the data path runs as before.
 * - deleted: no code path deletes from tg_flows (the daemon only reads it; a removed endpoint's
 *   flows stay until evicted, and its id in the value keeps them from serving another endpoint),
 *   so flows leave the map only by LRU eviction. A path that deletes must count it here.
 * - evicted = created - deleted - (present - present at start), since the daemon started: the
 *   map outlives a daemon across a restart (the fd store, daemon/fdstore.ts), so the flows
 *   present at start are the baseline (a flow of the previous daemon that is evicted now counts
 *   as an eviction).
 *
 * Where it can be off, and by how much: the two numbers are read one after the other while the
 * programs run on every CPU. The created counter is read first and the element count second, so a
 * flow inserted between the reads is present but not yet counted as created: the figure is low by
 * the flows created in those microseconds (and by inserts in flight on other CPUs, at most one per
 * CPU: the kernel counts an element when it takes a free node, before tg_decap counts it). It is
 * never high, it catches up at the next read, and it never decreases (a Prometheus counter).
 */
import * as path from "node:path";
import type { NativeAddon } from "../io/native";

/** The flow counter's object, relative to this file's compiled location (dist/datapath). */
export const BPF_COUNT_OBJECT_PATH = path.resolve(
  __dirname,
  "..",
  "..",
  "bpf",
  "build",
  "tollgate-count.bpf.o",
);

/** Elements of one BPF hash map, counted by the kernel. */
export interface MapElementCounter {
  count(): number;
  close(): void;
}

/**
 * Loads the counter object for the map with id `mapId` and links its iterator. Throws (nothing
 * left open) when the kernel cannot run it (no BTF, Linux < 6.6: no bpf_map_sum_elem_count).
 */
export function openMapElementCounter(
  native: NativeAddon,
  mapId: number,
  objectPath = BPF_COUNT_OBJECT_PATH,
): MapElementCounter {
  const loaded = native.bpfLoad(objectPath, ["tg_count_target"], [""], [0], ["tg_count"]);
  const [target, prog] = [loaded.maps[0]!, loaded.progs[0]!];
  try {
    const id = Buffer.alloc(4);
    id.writeUInt32LE(mapId);
    native.bpfMapUpdate(target, Buffer.alloc(4), id, 0);
    const link = native.bpfIterLink(prog);
    const out = Buffer.alloc(8);
    return {
      count() {
        const n = native.bpfIterRead(link, out);
        if (n !== 8) throw new Error(`no BPF map with id ${mapId} to count`);
        return Number(out.readBigInt64LE(0));
      },
      close: () => native.closeFd(link),
    };
  } finally {
    // The link holds the program, the program its map.
    native.closeFd(prog);
    native.closeFd(target);
  }
}

/** What describe() reports about tg_flows (KernelPathStatus.flows). */
export interface KernelFlowStatus {
  /** tg_flows' map id (`bpftool map show id N`). */
  readonly mapId: number;
  /** Flows in tg_flows now; absent when they cannot be counted (see countError). */
  readonly present?: number;
  /** Flows tg_decap created since the daemon started. */
  readonly created: number;
  /** Flows the kernel evicted since the daemon started (LRU); absent when present is. */
  readonly evicted?: number;
  /** Why the flows cannot be counted (e.g. no kernel BTF). */
  readonly countError?: string;
}

/** Turnover arithmetic and its baseline (pure: the reads are injected). */
export class KernelFlowAccounting {
  private readonly baseCreated: number;
  private readonly basePresent: number;
  private created: number;
  private present: number;
  private evicted = 0;

  /**
   * `readCreated`: tg_decap's created counter (all CPUs); `counter`: the map's element count, or
   * why there is none. Takes the baseline now (element count first, then created: see above).
   */
  constructor(
    readonly mapId: number,
    private readonly readCreated: () => number,
    private readonly counter: MapElementCounter | { readonly error: string },
  ) {
    this.basePresent = this.present = "error" in counter ? 0 : counter.count();
    this.baseCreated = this.created = readCreated();
  }

  /** Reads created, then present, and updates evicted. */
  sync(): void {
    this.created = this.readCreated();
    if ("error" in this.counter) return;
    this.present = this.counter.count();
    const evicted = this.created - this.baseCreated - (this.present - this.basePresent);
    if (evicted > this.evicted) this.evicted = evicted;
  }

  status(): KernelFlowStatus {
    const created = this.created - this.baseCreated;
    return "error" in this.counter
      ? { mapId: this.mapId, created, countError: this.counter.error }
      : { mapId: this.mapId, present: this.present, created, evicted: this.evicted };
  }

  close(): void {
    if (!("error" in this.counter)) this.counter.close();
  }
}
