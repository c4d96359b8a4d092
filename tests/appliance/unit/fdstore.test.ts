import { strict as assert } from "node:assert";
import {
  LISTEN_FDS_START,
  STATE_FD_NAME,
  fdName,
  fdStoreLimit,
  fdStoreMessage,
  listenFds,
  parseFdName,
  parseState,
  planAdoption,
  type FdRole,
  type HandoverState,
  type NamedFd,
} from "@tollgate/appliance";

const A = "00123456789abcdef";
const B = "0fedcba9876543210";

const state = (endpoints: HandoverState["endpoints"], port = 6081): HandoverState => ({
  version: 1,
  datapath: "kernel",
  address: "0.0.0.0",
  port,
  endpoints,
});
const LISTEN = { address: "0.0.0.0", port: 6081 };

/** Names to descriptors numbered from 3, as LISTEN_FDS hands them over. */
const named = (...names: string[]): NamedFd[] => names.map((name, i) => ({ name, fd: 3 + i }));

describe("restart through the fd store: names, state, adoption plan", () => {
  it("names every role and parses it back (what systemd accepts: no ':' and <= 255 bytes)", () => {
    const roles: FdRole[] = [
      { kind: "tun", side: "gwi", endpoint: A },
      { kind: "tun", side: "gwo", endpoint: A },
      { kind: "link", side: "gwi", endpoint: B },
      { kind: "link", side: "gwo", endpoint: B },
      { kind: "uplink", ifindex: 2 },
      { kind: "map", name: "tg_flows" },
      { kind: "prog", name: "tg_decap" },
      { kind: "socket" },
      { kind: "state" },
    ];
    const names = roles.map(fdName);
    assert.deepEqual(names, [
      `tg-tun-gwi-${A}`,
      `tg-tun-gwo-${A}`,
      `tg-link-gwi-${B}`,
      `tg-link-gwo-${B}`,
      "tg-uplink-2",
      "tg-map-tg_flows",
      "tg-prog-tg_decap",
      "tg-geneve-socket",
      STATE_FD_NAME,
    ]);
    for (const n of names) assert.ok(/^[\x21-\x7e]{1,255}$/.test(n) && !n.includes(":"), n);
    assert.deepEqual(names.map(parseFdName), roles);
  });

  it("does not recognise names it did not write", () => {
    for (const n of [
      "stored",
      "tg-tun-gwx-00123456789abcdef",
      "tg-tun-gwi-123",
      "tg-tun-gwi-00123456789ABCDEF",
      "tg-uplink-0",
      "tg-uplink-x",
      "tg-map-",
      "tg-map-Bad-Name",
      "tg-prog-a_very_long_program_name",
    ]) {
      assert.equal(parseFdName(n), undefined, n);
    }
  });

  it("reads the state back, and refuses another version or shape", () => {
    const s = state([{ id: A, tag: 7 }]);
    assert.deepEqual(parseState(JSON.stringify(s)), s);
    assert.match(parseState("{") as string, /not JSON/);
    for (const bad of [
      { ...s, version: 2 },
      { ...s, datapath: "xdp" },
      { ...s, address: 1 },
      { ...s, endpoints: [{ id: A, tag: 0 }] },
      { ...s, endpoints: [{ id: "vpce-1", tag: 1 }] },
      null,
    ]) {
      assert.match(parseState(JSON.stringify(bad)) as string, /another version or shape/);
    }
  });

  it("adopts endpoints with both tuns, keeps their tags, and sorts the kernel's descriptors", () => {
    const fds = named(
      `tg-tun-gwi-${A}`,
      `tg-tun-gwo-${A}`,
      `tg-link-gwi-${A}`,
      `tg-link-gwo-${A}`,
      "tg-map-tg_flows",
      "tg-map-tg_counters",
      "tg-prog-tg_decap",
      "tg-uplink-2",
    );
    const plan = planAdoption(fds, state([{ id: A, tag: 7 }]), LISTEN);
    assert.deepEqual(plan.endpoints, [
      { id: A, tag: 7, gwi: 3, gwo: 4, links: { gwi: 5, gwo: 6 } },
    ]);
    assert.deepEqual(
      [...plan.kernel.maps],
      [
        ["tg_flows", 7],
        ["tg_counters", 8],
      ],
    );
    assert.deepEqual(plan.kernel.progs, [9]);
    assert.deepEqual([...plan.kernel.uplinks], [[2, 10]]);
    assert.deepEqual(plan.close, []);
  });

  it("closes what it cannot use: half endpoints, orphan links, duplicates, foreign names", () => {
    const fds = named(
      `tg-tun-gwi-${A}`, // 3: no gwo tun
      `tg-link-gwo-${A}`, // 4
      `tg-link-gwi-${B}`, // 5: no tuns at all
      "tg-map-tg_flows", // 6
      "tg-map-tg_flows", // 7: twice
      "somebody-else", // 8
    );
    const plan = planAdoption(fds, undefined, LISTEN);
    assert.deepEqual(plan.endpoints, []);
    assert.deepEqual(
      plan.close.map((c) => [c.fd, c.reason]).sort((a, b) => Number(a[0]) - Number(b[0])),
      [
        [3, "endpoint without both tuns"],
        [4, "endpoint without both tuns"],
        [5, "link of an endpoint without tuns"],
        [7, "stored twice"],
        [8, "not a name this daemon stores"],
      ],
    );
    assert.deepEqual([...plan.kernel.maps], [["tg_flows", 6]]);
  });

  it("adopts the GENEVE socket only when stored for this listen address", () => {
    const fds = named("tg-geneve-socket");
    assert.equal(planAdoption(fds, state([]), LISTEN).socket, 3);
    const other = planAdoption(fds, state([]), { address: "10.0.0.1", port: 6081 });
    assert.equal(other.socket, undefined);
    assert.deepEqual(other.close, [
      { name: "tg-geneve-socket", fd: 3, reason: "socket not stored for 10.0.0.1" },
    ]);
    assert.equal(planAdoption(fds, undefined, LISTEN).socket, undefined, "no state: not adopted");
  });

  it("an endpoint without a stored tag gets a new one (undefined in the plan)", () => {
    const plan = planAdoption(named(`tg-tun-gwi-${A}`, `tg-tun-gwo-${A}`), state([]), LISTEN);
    assert.equal(plan.endpoints[0]!.tag, undefined);
  });

  it("descriptors stored for another GENEVE port are all closed", () => {
    const fds = named(`tg-tun-gwi-${A}`, `tg-tun-gwo-${A}`, "tg-map-tg_flows");
    const plan = planAdoption(fds, state([{ id: A, tag: 1 }], 6082), LISTEN);
    assert.deepEqual(plan.endpoints, []);
    assert.equal(plan.kernel.maps.size, 0);
    assert.deepEqual(
      plan.close.map((c) => c.fd),
      [3, 4, 5],
    );
    assert.match(plan.close[0]!.reason, /port 6082, not 6081/);
  });

  it("takes LISTEN_FDS only when LISTEN_PID is this process", () => {
    const env = { LISTEN_PID: "42", LISTEN_FDS: "3", LISTEN_FDNAMES: "a:b:c" };
    assert.deepEqual(listenFds(env, 42), [
      { name: "a", fd: LISTEN_FDS_START },
      { name: "b", fd: LISTEN_FDS_START + 1 },
      { name: "c", fd: LISTEN_FDS_START + 2 },
    ]);
    assert.deepEqual(listenFds(env, 43), []);
    assert.deepEqual(listenFds({ ...env, LISTEN_FDS: "x" }, 42), []);
    assert.deepEqual(listenFds({ LISTEN_PID: "42", LISTEN_FDS: "1" }, 42), [
      { name: "unknown", fd: 3 },
    ]);
  });

  it("stores each descriptor named and unpolled (systemd drops a BPF map fd at its EPOLLERR)", () => {
    assert.deepEqual(fdStoreMessage(fdName({ kind: "map", name: "tg_flows" })).split("\n"), [
      "FDSTORE=1",
      "FDNAME=tg-map-tg_flows",
      "FDPOLL=0",
    ]);
  });

  it("hands over only with a notify socket and a store size", () => {
    assert.equal(fdStoreLimit({ NOTIFY_SOCKET: "/run/systemd/notify", FDSTORE: "16448" }), 16448);
    assert.match(String(fdStoreLimit({ FDSTORE: "10" })), /NOTIFY_SOCKET/);
    assert.match(String(fdStoreLimit({ NOTIFY_SOCKET: "@x" })), /FileDescriptorStoreMax/);
    assert.match(String(fdStoreLimit({ NOTIFY_SOCKET: "@x", FDSTORE: "0" })), /FDSTORE/);
  });
});
