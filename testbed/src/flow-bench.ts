/**
 * `npm run bench:flows [flows] [4|6]`: the user-space data path's flow state at scale. Fills the
 * data path's flow table (FlowRecords, the bound at `flows`, default 1,000,000) with that many
 * distinct flows, each keyed from a real inner packet (writeFlowKey) and holding a 40-byte GWLB
 * GENEVE header, and prints the memory it took per flow, measured in this process:
 *   RSS delta (what the kernel committed: the honest figure), V8 heap delta (should be ~0: no
 *   object per flow) and ArrayBuffer delta (the slab as reserved), after a full GC;
 * then the CPU time (this process's user+system time: steadier than wall-clock time on a shared
 * machine) per lookup of a live flow and per insert with eviction once the table is full.
 * Run it with `node --expose-gc` (the npm script does). A benchmark: nothing is asserted.
 */
import {
  buildUdpPacket,
  createFlowKey,
  createPacketScratch,
  FLOW_RECORD_BYTES_PER_ENTRY,
  FLOW_TABLE_BYTES_PER_ENTRY,
  FlowRecords,
  GWLB_OTHER_IDLE_TIMEOUT_SECONDS,
  GWLB_TCP_IDLE_TIMEOUT_SECONDS,
  locatePacket,
  writeFlowKey,
} from "@tollgate/appliance";

const MiB = 2 ** 20;

/** CPU time of this process, ns. */
function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g === undefined) throw new Error("run with node --expose-gc (npm run bench:flows does)");
  g();
  g();
}

/** A UDP packet of flow i: source address and port vary with i (2^32 x 2^16 flows possible). */
function packetFactory(family: 4 | 6): (i: number) => Buffer {
  const b = buildUdpPacket({
    src: family === 4 ? "10.100.0.1" : "fd00:100::1",
    dst: family === 4 ? "10.200.0.1" : "fd00:200::1",
    srcPort: 1024,
    dstPort: 5001,
    payload: Buffer.alloc(16),
  });
  const addrEnd = family === 4 ? 16 : 24; // last byte of the source address + 1
  const portAt = family === 4 ? 20 : 40;
  return (i: number) => {
    b.writeUInt32BE(i >>> 0, addrEnd - 4);
    b.writeUInt16BE(1024 + (i % 50_000), portAt);
    return b;
  };
}

function main(): void {
  const flows = Number(process.argv[2] ?? 1_000_000);
  const family = Number(process.argv[3] ?? 4) === 6 ? 6 : 4;
  const packet = packetFactory(family);
  const s = createPacketScratch();
  const key = createFlowKey();
  const header = Buffer.alloc(40, 0x5a);
  const keyOf = (i: number): void => {
    const p = packet(i);
    if (locatePacket(p, 0, p.length, s) !== undefined) throw new Error("bad test packet");
    writeFlowKey(p, s, 1, key);
  };

  gc();
  const m0 = process.memoryUsage();
  const table = new FlowRecords({
    capacity: flows,
    timeouts: {
      tcp: GWLB_TCP_IDLE_TIMEOUT_SECONDS,
      udp: GWLB_OTHER_IDLE_TIMEOUT_SECONDS,
      other: 120,
    },
    clock: () => 0,
  });
  const mEmpty = process.memoryUsage();
  for (let i = 0; i < flows; i++) {
    keyOf(i);
    table.remember(key, 17, 1, header, 0, header.length, 0x0a000001, 40000 + (i & 0xff), 0, 0);
  }
  gc();
  const m1 = process.memoryUsage();
  const per = (k: "rss" | "heapUsed" | "arrayBuffers") => (m1[k] - m0[k]) / flows;
  console.log(
    `flow table, ${flows} IPv${family} flows (40-byte GENEVE headers): ${table.size} held, ` +
      `${(m1.rss / MiB).toFixed(0)} MiB RSS in all (node itself: ${(m0.rss / MiB).toFixed(0)} MiB before)`,
  );
  console.log(
    `  per flow: RSS ${per("rss").toFixed(1)} B, V8 heap ${per("heapUsed").toFixed(1)} B, ` +
      `ArrayBuffers ${per("arrayBuffers").toFixed(1)} B (slots as designed: ${FLOW_TABLE_BYTES_PER_ENTRY} table + ${FLOW_RECORD_BYTES_PER_ENTRY} record bytes, chain heads rounded to a power of two)`,
  );
  console.log(
    `  at ${flows} flows: ${((m1.rss - m0.rss) / MiB).toFixed(1)} MiB RSS for the flow state ` +
      `(empty table right after allocation: ${((mEmpty.rss - m0.rss) / MiB).toFixed(1)} MiB RSS, ` +
      `${((mEmpty.arrayBuffers - m0.arrayBuffers) / MiB).toFixed(1)} MiB reserved)`,
  );

  // Lookups of live flows in a scattered order, then inserts of new flows into the full table.
  const n = Math.min(flows, 1_000_000);
  let found = 0;
  let t = cpuNs();
  for (let j = 0; j < n; j++) {
    keyOf((j * 7919) % flows);
    if (table.lookup(key, 1, 0) >= 0) found++;
  }
  const lookupNs = (cpuNs() - t) / n;
  t = cpuNs();
  for (let j = 0; j < n; j++) {
    keyOf(flows + j);
    table.remember(key, 17, 1, header, 0, header.length, 0x0a000001, 40000, 0, 0);
  }
  const insertNs = (cpuNs() - t) / n;
  console.log(
    `  CPU per lookup of a live flow, key from the packet included: ${lookupNs.toFixed(0)} ns (${found} of ${n} found); ` +
      `per insert into the full table: ${insertNs.toFixed(0)} ns, evictions counted: ${table.stats.evicted}`,
  );
}

main();
