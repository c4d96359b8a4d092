/**
 * What the user-space data path remembers per flow, in FlowTable slots: the GENEVE header exactly
 * as the GWLB sent it (echoed on replies), the GWLB's address and source port, our address it
 * sent to, and the endpoint the flow belongs to. Plus the fragment map: fragmented datagram ->
 * the flow its first fragment matched.
 *
 * Fixed-size records in typed arrays (see FlowTable): a header up to {@link FLOW_HEADER_INLINE}
 * bytes (GWLB's is 40: base header + endpoint id, attachment id and flow cookie options) is kept
 * in the slot; a longer one (more options) in a side map, one small buffer per such flow.
 */
import { FlowTable, type FlowTableOptions, type FlowTableStats } from "./table";
import { FLOW_KEY_WORDS, type FlowKey } from "./key";

/** Header bytes kept in a slot (GWLB's header is 40 bytes); longer headers use a side map. */
export const FLOW_HEADER_INLINE = 48;

/** Bytes per slot of FlowRecords besides its FlowTable: header, its length, addresses, port, endpoint. */
export const FLOW_RECORD_BYTES_PER_ENTRY = FLOW_HEADER_INLINE + 2 + 4 + 4 + 2 + 4;

export type FlowRecordsOptions = Omit<FlowTableOptions, "onRemove">;

export class FlowRecords {
  readonly table: FlowTable;
  /** GWLB address (host-order IPv4 number) the flow's datagrams came from. */
  readonly gwlbAddress: Uint32Array;
  /** UDP source port the GWLB sent from; replies are sent from it to the GWLB's port 6081. */
  readonly gwlbPort: Uint16Array;
  /** Our address the GWLB sent to (replies come from it); 0 lets the kernel choose. */
  readonly localAddress: Uint32Array;
  /** Serial of the endpoint the flow belongs to (Endpoint.serial, never reused). */
  readonly endpoint: Uint32Array;
  private readonly headerLength: Uint16Array;
  private readonly headers: Uint8Array;
  private readonly longHeaders = new Map<number, Uint8Array>();

  constructor(options: FlowRecordsOptions) {
    this.table = new FlowTable({
      ...options,
      onRemove: (slot) => {
        if (this.longHeaders.size !== 0) this.longHeaders.delete(slot);
      },
    });
    const cap = this.table.capacity;
    this.gwlbAddress = new Uint32Array(cap);
    this.gwlbPort = new Uint16Array(cap);
    this.localAddress = new Uint32Array(cap);
    this.endpoint = new Uint32Array(cap);
    this.headerLength = new Uint16Array(cap);
    this.headers = new Uint8Array(cap * FLOW_HEADER_INLINE);
  }

  get size(): number {
    return this.table.size;
  }

  get stats(): FlowTableStats {
    return this.table.stats;
  }

  /**
   * Forward path: finds or creates the flow and stores what the reply needs: the GENEVE header
   * at buf[off, off + hlen), the GWLB's address and port, our address, the endpoint. A flow
   * found under another endpoint (a reused tag) is taken over. Returns the slot.
   */
  remember(
    key: FlowKey,
    proto: number,
    endpoint: number,
    buf: Uint8Array,
    off: number,
    hlen: number,
    addr: number,
    port: number,
    local: number,
    now: number,
  ): number {
    let s = this.table.get(key, now);
    if (s < 0) s = this.table.set(key, proto, now);
    this.gwlbAddress[s] = addr;
    this.gwlbPort[s] = port;
    this.localAddress[s] = local;
    this.endpoint[s] = endpoint;
    this.headerLength[s] = hlen;
    if (hlen <= FLOW_HEADER_INLINE) {
      const h = this.headers;
      const at = s * FLOW_HEADER_INLINE;
      for (let i = 0; i < hlen; i++) h[at + i] = buf[off + i]!;
      if (this.longHeaders.size !== 0) this.longHeaders.delete(s);
    } else {
      this.longHeaders.set(s, buf.slice(off, off + hlen));
    }
    return s;
  }

  /** Whether a live flow has this key (not marked used, not counted). */
  has(key: FlowKey, now?: number): boolean {
    return this.table.has(key, now);
  }

  /** The slot of endpoint's flow with this key, marked used; -1 when none. */
  lookup(key: FlowKey, endpoint: number, now: number): number {
    const s = this.table.get(key, now);
    return s >= 0 && this.endpoint[s] === endpoint ? s : -1;
  }

  /** Length of a live slot's GENEVE header. */
  headerLengthOf(slot: number): number {
    return this.headerLength[slot]!;
  }

  /** Copies a live slot's GENEVE header to dst[at ...]; returns its length. */
  copyHeader(slot: number, dst: Uint8Array, at: number): number {
    const n = this.headerLength[slot]!;
    if (n > FLOW_HEADER_INLINE) {
      dst.set(this.longHeaders.get(slot)!, at);
      return n;
    }
    const h = this.headers;
    const from = slot * FLOW_HEADER_INLINE;
    for (let i = 0; i < n; i++) dst[at + i] = h[from + i]!;
    return n;
  }

  clear(): void {
    this.table.clear();
    this.longHeaders.clear();
  }
}

/**
 * Fragmented datagram (fragment key) -> the key of the flow its first fragment matched. Later
 * fragments have no ports; they find their flow through this map (see writeFragmentKey).
 */
export class FragmentMap {
  readonly table: FlowTable;
  private readonly flowKeys: Uint32Array;

  constructor(options: FlowRecordsOptions) {
    this.table = new FlowTable(options);
    this.flowKeys = new Uint32Array(this.table.capacity * FLOW_KEY_WORDS);
  }

  get size(): number {
    return this.table.size;
  }

  /** Maps the datagram of fragKey to the flow in `flows`' slot. */
  map(fragKey: FlowKey, proto: number, flows: FlowRecords, slot: number, now: number): void {
    const f = this.table.set(fragKey, proto, now);
    flows.table.copyKey(slot, this.flowKeys, f * FLOW_KEY_WORDS);
  }

  /**
   * Copies the flow key the datagram of fragKey was mapped to into out; false when it was not
   * (or the mapping expired). `peek`: do not mark the mapping used.
   */
  flowOf(fragKey: FlowKey, out: FlowKey, now: number, peek = false): boolean {
    const f = peek ? this.table.peek(fragKey, now) : this.table.get(fragKey, now);
    if (f < 0) return false;
    out.set(this.flowKeys.subarray(f * FLOW_KEY_WORDS, (f + 1) * FLOW_KEY_WORDS));
    return true;
  }

  sweep(now: number): number {
    return this.table.sweep(now);
  }

  clear(): void {
    this.table.clear();
  }
}
