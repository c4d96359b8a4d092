/**
 * A restart that keeps traffic flowing: systemd's file descriptor store
 * (https://systemd.io/FILE_DESCRIPTOR_STORE/). On SIGTERM under a unit that allows it, the
 * daemon hands every descriptor the data path needs to the service manager (sd_notify
 * "FDSTORE=1" + "FDNAME=<name>", one descriptor per message) and exits without tearing anything
 * down; the next start receives them as LISTEN_FDS/LISTEN_FDNAMES and adopts them. The kernel's
 * reference counts do the rest: while the manager holds them the tuns stay, the tcx links stay
 * attached and the maps keep their flows; `systemctl stop` closes them and everything goes.
 *
 * This file is the data of it (names, the state record, what a start adopts) plus the two
 * effects (sending, receiving), each behind a small interface so tests use fakes.
 */
import { z } from "zod";
import type { NativeAddon } from "../io/native";

/** First descriptor passed by the service manager (SD_LISTEN_FDS_START). */
export const LISTEN_FDS_START = 3;
/** Name of the memfd holding {@link HandoverState}. */
export const STATE_FD_NAME = "tg-state";
/** Name of the GENEVE receive socket (datagrams arriving while no daemon runs queue in it). */
export const SOCKET_FD_NAME = "tg-geneve-socket";

/** What a stored descriptor is, as its FDNAME says. */
export type FdRole =
  | { readonly kind: "tun"; readonly side: "gwi" | "gwo"; readonly endpoint: string }
  | { readonly kind: "link"; readonly side: "gwi" | "gwo"; readonly endpoint: string }
  | { readonly kind: "uplink"; readonly ifindex: number }
  | { readonly kind: "map"; readonly name: string }
  | { readonly kind: "prog"; readonly name: string }
  | { readonly kind: "socket" }
  | { readonly kind: "state" };

/** A descriptor with its FDNAME. */
export interface NamedFd {
  readonly name: string;
  readonly fd: number;
}

const ENDPOINT_ID = /^[0-9a-f]{17}$/;
const BPF_NAME = /^[a-z0-9_]{1,15}$/;

/**
 * The FDNAME of a role: `tg-tun-gwi-<17 hex digits>`, `tg-link-gwo-<id>`, `tg-uplink-<ifindex>`,
 * `tg-map-tg_flows`, `tg-prog-tg_decap`, `tg-state` (systemd accepts printable ASCII without
 * ':' up to 255 bytes).
 */
export function fdName(role: FdRole): string {
  switch (role.kind) {
    case "tun":
    case "link":
      return `tg-${role.kind}-${role.side}-${role.endpoint}`;
    case "uplink":
      return `tg-uplink-${role.ifindex}`;
    case "map":
    case "prog":
      return `tg-${role.kind}-${role.name}`;
    case "socket":
      return SOCKET_FD_NAME;
    case "state":
      return STATE_FD_NAME;
  }
}

/** The role a FDNAME names, or undefined for a name this daemon did not write. */
export function parseFdName(name: string): FdRole | undefined {
  if (name === STATE_FD_NAME) return { kind: "state" };
  if (name === SOCKET_FD_NAME) return { kind: "socket" };
  const m = /^tg-(tun|link)-(gwi|gwo)-(.+)$/.exec(name);
  if (m) {
    const [, kind, side, endpoint] = m as unknown as [
      string,
      "tun" | "link",
      "gwi" | "gwo",
      string,
    ];
    return ENDPOINT_ID.test(endpoint) ? { kind, side, endpoint } : undefined;
  }
  const u = /^tg-uplink-([1-9][0-9]{0,9})$/.exec(name);
  if (u) return { kind: "uplink", ifindex: Number(u[1]) };
  const b = /^tg-(map|prog)-(.+)$/.exec(name);
  if (b && BPF_NAME.test(b[2]!)) return { kind: b[1] as "map" | "prog", name: b[2]! };
  return undefined;
}

/** What cannot be read back from the kernel, kept in a memfd next to the descriptors. */
const HANDOVER_STATE = z.object({
  version: z.literal(1),
  /** The data path that stored the descriptors. */
  datapath: z.enum(["kernel", "user"]),
  /** GENEVE listen address and port (one daemon per port). */
  address: z.string(),
  port: z.number(),
  /** Each endpoint's flow-key tag: tg_flows' keys and tg_ifaces/tg_endpoints values carry it. */
  endpoints: z.array(
    z.object({ id: z.string().regex(ENDPOINT_ID), tag: z.number().int().min(1).max(65535) }),
  ),
});
export type HandoverState = Readonly<z.infer<typeof HANDOVER_STATE>>;

/** Parses the state memfd's text; the reason (a string) when it is not ours or broken. */
export function parseState(text: string): HandoverState | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    return `state is not JSON: ${String(err)}`;
  }
  const r = HANDOVER_STATE.safeParse(v);
  return r.success ? r.data : "state has another version or shape";
}

/** An endpoint a start takes over: its two tun descriptors and, kernel path, its tcx links. */
export interface AdoptedEndpoint {
  /** 17 lower-case hex digits. */
  readonly id: string;
  /** Flow-key tag from the state; undefined when the state did not have it (a new one is used). */
  readonly tag: number | undefined;
  readonly gwi: number;
  readonly gwo: number;
  readonly links: { readonly gwi?: number; readonly gwo?: number };
}

/** What the kernel path takes over: maps by name, uplink links by ifindex, old programs. */
export interface AdoptedKernel {
  readonly maps: ReadonlyMap<string, number>;
  readonly uplinks: ReadonlyMap<number, number>;
  /** The previous daemon's programs: only kept alive by the store; closed once adopted. */
  readonly progs: readonly number[];
}

/** A start's plan: what to adopt, and what to close (logged with the reason). */
export interface Adoption {
  readonly state: HandoverState | undefined;
  /** The GENEVE receive socket, when stored for this start's listen address and port. */
  readonly socket: number | undefined;
  readonly endpoints: readonly AdoptedEndpoint[];
  readonly kernel: AdoptedKernel;
  readonly close: readonly (NamedFd & { readonly reason: string })[];
}

export const NO_ADOPTION: Adoption = {
  state: undefined,
  socket: undefined,
  endpoints: [],
  kernel: { maps: new Map(), uplinks: new Map(), progs: [] },
  close: [],
};

/**
 * Decides, from the named descriptors received and the state read from the state memfd, what a
 * start adopts. An endpoint needs both tuns (else its descriptors are closed: its interfaces go
 * and the next datagram recreates them); links of an endpoint without tuns, duplicate names and
 * names this daemon did not write are closed; a state for another port is ignored (with every
 * descriptor: they belong to another daemon's data path).
 */
export function planAdoption(
  fds: readonly NamedFd[],
  state: HandoverState | undefined,
  listen: { readonly address: string; readonly port: number },
): Adoption {
  const close: (NamedFd & { reason: string })[] = [];
  if (state !== undefined && state.port !== listen.port) {
    return {
      ...NO_ADOPTION,
      close: fds.map((f) => ({
        ...f,
        reason: `stored for GENEVE port ${state.port}, not ${listen.port}`,
      })),
    };
  }
  let socket: number | undefined;
  const seen = new Set<string>();
  const tuns = new Map<string, { gwi?: number; gwo?: number }>();
  const links = new Map<string, { gwi?: number; gwo?: number }>();
  const maps = new Map<string, number>();
  const uplinks = new Map<number, number>();
  const progs: number[] = [];
  for (const f of fds) {
    const role = parseFdName(f.name);
    if (role === undefined) {
      close.push({ ...f, reason: "not a name this daemon stores" });
      continue;
    }
    if (seen.has(f.name)) {
      close.push({ ...f, reason: "stored twice" });
      continue;
    }
    seen.add(f.name);
    switch (role.kind) {
      case "tun":
      case "link": {
        const into = role.kind === "tun" ? tuns : links;
        const e = into.get(role.endpoint) ?? {};
        e[role.side] = f.fd;
        into.set(role.endpoint, e);
        break;
      }
      case "uplink":
        uplinks.set(role.ifindex, f.fd);
        break;
      case "map":
        maps.set(role.name, f.fd);
        break;
      case "prog":
        progs.push(f.fd);
        break;
      case "socket":
        if (state?.address === listen.address) socket = f.fd;
        else close.push({ ...f, reason: `socket not stored for ${listen.address}` });
        break;
      case "state":
        break; // read by the caller
    }
  }
  const tags = new Map((state?.endpoints ?? []).map((e) => [e.id, e.tag]));
  const endpoints: AdoptedEndpoint[] = [];
  for (const [id, t] of tuns) {
    const l = links.get(id) ?? {};
    links.delete(id);
    if (t.gwi === undefined || t.gwo === undefined) {
      for (const fd of [t.gwi, t.gwo, l.gwi, l.gwo]) {
        if (fd !== undefined) close.push({ name: id, fd, reason: "endpoint without both tuns" });
      }
      continue;
    }
    endpoints.push({ id, tag: tags.get(id), gwi: t.gwi, gwo: t.gwo, links: l });
  }
  for (const [id, l] of links) {
    for (const fd of [l.gwi, l.gwo]) {
      if (fd !== undefined)
        close.push({ name: id, fd, reason: "link of an endpoint without tuns" });
    }
  }
  return { state, socket, endpoints, kernel: { maps, uplinks, progs }, close };
}

/**
 * The descriptors the service manager passed (sd_listen_fds(3)): LISTEN_FDS from fd 3 on, named
 * by LISTEN_FDNAMES, only when LISTEN_PID is this process. Empty otherwise.
 */
export function listenFds(env: NodeJS.ProcessEnv, pid: number): NamedFd[] {
  if (env.LISTEN_PID !== String(pid)) return [];
  const n = Number(env.LISTEN_FDS ?? "0");
  if (!Number.isInteger(n) || n <= 0) return [];
  const names = env.LISTEN_FDNAMES ? env.LISTEN_FDNAMES.split(":") : [];
  return Array.from({ length: n }, (_, i) => ({
    name: names[i] ?? "unknown", // sd_listen_fds_with_names(3)'s name for an unnamed one
    fd: LISTEN_FDS_START + i,
  }));
}

/**
 * Whether SIGTERM hands over: a notify socket and a store size (FDSTORE: set by systemd >= 254
 * from FileDescriptorStoreMax=, and by Tollgate's unit itself for older systemd). Returns the
 * store size, or the reason there is no handover.
 */
export function fdStoreLimit(env: NodeJS.ProcessEnv): number | string {
  if (!env.NOTIFY_SOCKET) return "not started by systemd with a notify socket (NOTIFY_SOCKET)";
  const max = Number(env.FDSTORE ?? "0");
  if (!Number.isInteger(max) || max <= 0) {
    return "the unit has no file descriptor store (FileDescriptorStoreMax= and FDSTORE= unset)";
  }
  return max;
}

/** Where descriptors go on SIGTERM (the service manager; tests use a fake). */
export interface FdStore {
  /** How many descriptors it keeps. */
  readonly limit: number;
  store(fds: readonly NamedFd[]): void;
  /** Drops every stored descriptor of these names (FDSTOREREMOVE=1). */
  remove(names: readonly string[]): void;
}

/**
 * What each descriptor is stored with. FDPOLL=0 (systemd >= 246): systemd otherwise polls every
 * stored descriptor and drops it at its first EPOLLERR/EPOLLHUP, and a BPF map's descriptor
 * polls EPOLLERR at once (only ring buffers implement poll): without it every map was gone
 * before the next start (found by the boot test: tg_flows and the counters started empty).
 */
export function fdStoreMessage(name: string): string {
  return `FDSTORE=1\nFDNAME=${name}\nFDPOLL=0`;
}

/** The service manager at $NOTIFY_SOCKET: one datagram per descriptor, named. */
export function notifyFdStore(socket: string, limit: number, native: NativeAddon): FdStore {
  return {
    limit,
    store(fds) {
      for (const f of fds) native.notifySend(socket, fdStoreMessage(f.name), [f.fd]);
    },
    remove(names) {
      for (const n of names) native.notifySend(socket, `FDSTOREREMOVE=1\nFDNAME=${n}`, []);
    },
  };
}

/** The state as a memfd (the documented way to keep state across a restart). */
export function stateMemfd(state: HandoverState, native: NativeAddon, write: WriteFd): number {
  const fd = native.memfdCreate(STATE_FD_NAME);
  try {
    write(fd, JSON.stringify(state));
  } catch (err) {
    native.closeFd(fd);
    throw err;
  }
  return fd;
}

/** Writes text at offset 0 / reads a descriptor's whole content (node:fs; tests pass fakes). */
export type WriteFd = (fd: number, text: string) => void;
export type ReadFd = (fd: number) => string;
