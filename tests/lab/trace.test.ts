import { strict as assert } from "node:assert";
import {
  type EmulatorStatus,
  findFlow,
  type FlowView,
  formatCounters,
  formatFollowThePacket,
  parsePrometheus,
  summarizeMetrics,
  total,
  type TraceSnapshot,
} from "@tollgate/lab";

const status: EmulatorStatus = {
  uptimeMs: 5000,
  endpointIdHex: "1ab2c3d4e5f60718",
  attachmentIdHex: "a0001",
  hashMode: "5-tuple",
  failover: "rebalance",
  tun: { name: "gwlbe0", rx: 20, tx: 18, txErrors: 0 },
  targets: [
    {
      name: "app1",
      address: "10.10.100.11",
      state: "unhealthy",
      detail: "ECONNREFUSED",
      checks: 9,
      sentPackets: 12,
      returnedPackets: 10,
      flows: 0,
    },
    {
      name: "app2",
      address: "10.10.100.12",
      state: "healthy",
      detail: "200 OK",
      checks: 9,
      sentPackets: 8,
      returnedPackets: 8,
      flows: 1,
    },
  ],
  counters: {
    endpointRx: 20,
    encapsulated: 20,
    geneveRx: 18,
    decapsulated: 18,
    returnedOtherTuple: 0,
    returnedByPreviousTarget: 0,
    flowsCreated: 1,
    flowsMoved: 1,
    flowsExpired: 0,
    drops: { UNKNOWN_COOKIE: 2 },
  },
  flowCount: 1,
  events: [],
};

const flow: FlowView = {
  protocol: 6,
  src: "10.10.1.10",
  dst: "198.51.100.10",
  srcPort: 40000,
  dstPort: 80,
  cookie: "0badf00d",
  target: "app2",
  targets: ["app1", "app2"],
  forward: { packets: 6, bytes: 400 },
  reverse: { packets: 5, bytes: 600 },
  returned: { packets: 11, bytes: 1000 },
  ageMs: 100,
  idleMs: 10,
};

const snap: TraceSnapshot = {
  clientAddress: "10.10.1.10",
  serverAddress: "198.51.100.10",
  endpointAddress: "10.10.1.1",
  edgeAddress: "198.51.100.1",
  gwlbAddress: "10.10.100.1",
  clientSubnet: "10.10.1.0/24",
  tun: "gwlbe0",
  endpointTable: 100,
  vpce: "vpce-01ab2c3d4e5f60718",
  gwi: "gwi-X",
  gwo: "gwo-X",
  emulator: status,
  flows: [flow],
  appliances: [
    { name: "app1", address: "10.10.100.11", running: false },
    {
      name: "app2",
      address: "10.10.100.12",
      running: true,
      metrics: parsePrometheus(
        'tollgate_rx_packets_total 8\ntollgate_drops_total{reason="BAD_OPTLEN"} 1\n',
      ),
    },
  ],
  interfaces: [
    { ns: "p-client", ifname: "eth0", rxPackets: 5, txPackets: 6, rxDropped: 0, txDropped: 1 },
  ],
  server: { "http/80": { count: 1, peers: ["10.10.1.10"] } },
};

describe("lab follow-the-packet trace", () => {
  it("prints every hop with the flow's counters, cookie, endpoint and move", () => {
    const lines = formatFollowThePacket(snap, {
      title: "HTTP GET",
      protocol: 6,
      clientPort: 40000,
      serverPort: 80,
      verdict: "expected allow (rules[1])",
    });
    const text = lines.join("\n");
    assert.match(
      lines[0]!,
      /^Follow the packet: HTTP GET \(tcp 10\.10\.1\.10:40000 -> 198\.51\.100\.10:80\) - expected allow/,
    );
    assert.match(text, /default route via 10\.10\.1\.1 \(the GWLB endpoint\): 6 pkt/);
    assert.match(
      text,
      /5-tuple hash -> target app1, moved to app2 when app1 failed \(rebalance\); flow cookie 0x0badf00d/,
    );
    assert.match(
      text,
      /GENEVE 10\.10\.100\.1 -> 10\.10\.100\.11:6081, endpoint vpce-01ab2c3d4e5f60718, attachment 0xa0001: 11 datagram\(s\) sent/,
    );
    assert.match(text, /4 app1 +tollgate: decap -> gwi-X -> rules -> gwo-X/);
    assert.match(text, /11 pkt\(s\) returned by appliances/);
    assert.match(text, /the server answers \(1 http\/80 in total, all from 10\.10\.1\.10\)/);
    assert.match(text, /edge route.*-> c0 -> client: 5 pkt/);
    assert.equal(lines.length, 9);
  });

  it("shows where a dropped flow ended", () => {
    const dropped = {
      ...flow,
      srcPort: 41000,
      dstPort: 23,
      targets: ["app2"],
      returned: { packets: 0, bytes: 0 },
      reverse: { packets: 0, bytes: 0 },
    };
    const lines = formatFollowThePacket(
      { ...snap, flows: [dropped] },
      {
        title: "blocked port tcp/23",
        protocol: 6,
        clientPort: 41000,
        serverPort: 23,
        verdict: "expected drop (rules[0])",
      },
    );
    assert.match(
      lines.join("\n"),
      /4 app2 +tollgate: decap -> gwi-X -> rules: nothing came back, the packet ended here \(dropped\)/,
    );
    assert.match(lines.at(-1)!, /198\.51\.100\.10: the server saw nothing/);
    assert.equal(lines.length, 7);
  });

  it("says when a packet never reached the endpoint", () => {
    const lines = formatFollowThePacket(snap, {
      title: "x",
      protocol: 17,
      clientPort: 1,
      serverPort: 7,
      verdict: "v",
    });
    assert.match(lines[1]!, /never reached the GWLB endpoint/);
    assert.equal(findFlow(snap, { title: "x", protocol: 6, verdict: "" }), flow);
  });

  it("prints counters of every element", () => {
    const text = formatCounters(snap).join("\n");
    assert.match(
      text,
      /endpoint rx 20, GENEVE out 20, GENEVE in 18, decapsulated 18; flows 1 \(created 1, moved 1\); drops UNKNOWN_COOKIE=2/,
    );
    assert.match(text, /app1 10\.10\.100\.11: unhealthy \(ECONNREFUSED\)/);
    assert.match(text, /app1 +daemon not running/);
    assert.match(text, /app2 +\/metrics: rx_packets 8; drops 1 \(BAD_OPTLEN=1\)/);
    assert.match(text, /p-client: eth0 rx 5\/tx 6 \(dropped 0\/1\)/);
    assert.match(text, /server +http\/80 1/);
  });

  it("parses Prometheus text", () => {
    const s = parsePrometheus(
      '# HELP x y\n# TYPE a counter\na_total{r="x",q="1"} 3\na_total{r="y"} 4\nb 1.5\nbad line\nc{l="a\\"b"} NaN\n',
    );
    assert.equal(total(s, "a_total"), 7);
    assert.equal(total(s, "b"), 1.5);
    assert.equal(total(s, "zzz"), undefined);
    assert.deepEqual(s[0]!.labels, { r: "x", q: "1" });
    assert.deepEqual(
      summarizeMetrics(
        parsePrometheus(
          "process_cpu 1\ntollgate_process_resident_memory_bytes 9\ntollgate_nodejs_heap_size_used_bytes 3\n" +
            "tollgate_geneve_rx_datagrams_total 2\ntollgate_geneve_rx_bytes_total 99\nfoo_bucket 3\n",
        ),
      ),
      ["geneve_rx_datagrams 2"],
    );
  });
});
