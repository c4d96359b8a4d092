/**
 * The lab's topology as data: namespaces, links, addresses, routes, policy rules and sysctls.
 * Pure: no I/O. `setupCommands()` turns it into `ip`/`sysctl` argv lists.
 *
 *   client ──(c0/eth0)── gwlb ──(br0: a1..aN)── appliance 1..N
 *                         │
 *                         └──(i0/eth0)── internet
 *
 * Both IPv4 and IPv6 (GWLB carries inner IPv6 in GENEVE over IPv4). The client's default
 * route points at the GWLB endpoint address in the gwlb namespace; the
 * internet namespace routes the client subnet back to the same address (an IGW edge route
 * table). In the gwlb namespace, everything arriving from the client or internet link is
 * policy-routed into the emulator's tun device, which plays the endpoint and the load balancer.
 */

/** Defaults to "tg-lab". Lower-case letters, digits and dashes; starts with a letter; at most 24 characters. */
export const DEFAULT_PREFIX = "tg-lab";
export const PREFIX_PATTERN = /^[a-z][a-z0-9-]{0,23}$/;

export interface LabTopologyArgs {
  /** Prefix of every namespace the lab creates. Defaults to "tg-lab". */
  readonly prefix?: string;
  /** Number of appliance namespaces (targets of the emulated GWLB). Defaults to 2; 1 to 8. */
  readonly appliances?: number;
  /** GWLB endpoint id (GENEVE option type 1). Defaults to 0x1ab2c3d4e5f60718 (vpce-01ab2c3d4e5f60718). */
  readonly endpointId?: bigint;
  /** GWLB attachment id (GENEVE option type 2). Defaults to 0x00000000000a0001. */
  readonly attachmentId?: bigint;
  /** HTTP health-check port of each appliance's daemon (`tollgate -p`). Defaults to 8080. */
  readonly healthPort?: number;
  /** Directory for pid files, logs and the emulator's control socket. Defaults to /run/tollgate-lab/<prefix>. */
  readonly stateDir?: string;
}

export interface NamespaceIf {
  readonly ns: string;
  readonly ifname: string;
  /** Address with prefix length, e.g. "10.10.1.10/24"; undefined for bridge ports. */
  readonly address?: string;
  /** IPv6 address with prefix length (client and internet links: inner IPv6 traffic). */
  readonly address6?: string;
  readonly mtu: number;
}

export interface VethLink {
  readonly a: NamespaceIf;
  readonly b: NamespaceIf;
}

export interface Bridge {
  readonly ns: string;
  readonly name: string;
  readonly address: string;
  readonly mtu: number;
  readonly ports: readonly string[];
}

export interface Route {
  readonly ns: string;
  /** Defaults to 4. */
  readonly family?: 4 | 6;
  readonly destination: string;
  readonly via?: string;
  readonly dev?: string;
  readonly table?: number;
}

export interface PolicyRule {
  readonly ns: string;
  /** Defaults to 4. */
  readonly family?: 4 | 6;
  readonly iif: string;
  readonly table: number;
  readonly priority: number;
}

export interface Sysctl {
  readonly ns: string;
  readonly key: string;
  readonly value: string;
}

export interface ApplianceNode {
  /** "app1", "app2", ... */
  readonly name: string;
  readonly ns: string;
  /** Address the GWLB sends GENEVE to (no prefix length). */
  readonly address: string;
  readonly healthPort: number;
}

export interface LabTopology {
  readonly prefix: string;
  readonly stateDir: string;
  readonly namespaces: {
    readonly client: string;
    readonly gwlb: string;
    readonly internet: string;
    readonly appliances: readonly string[];
  };
  readonly client: {
    readonly address: string;
    readonly subnet: string;
    readonly address6: string;
    readonly subnet6: string;
  };
  readonly server: { readonly address: string; readonly subnet: string; readonly address6: string };
  readonly gwlb: {
    /** The GWLB endpoint's address as the client sees it (its default gateway). */
    readonly endpointAddress: string;
    /** The edge address the internet namespace routes the client subnet to. */
    readonly edgeAddress: string;
    readonly endpointAddress6: string;
    readonly edgeAddress6: string;
    /** The load balancer's address on the appliance network: source of GENEVE and health checks. */
    readonly address: string;
    /** tun device the emulator opens: client and internet traffic is policy-routed into it. */
    readonly tun: string;
    readonly tunMtu: number;
    readonly endpointTable: number;
    readonly endpointId: bigint;
    readonly attachmentId: bigint;
    readonly controlSocket: string;
  };
  readonly appliances: readonly ApplianceNode[];
  readonly links: readonly VethLink[];
  readonly bridges: readonly Bridge[];
  /** Applied after the links are up. */
  readonly routes: readonly Route[];
  readonly sysctls: readonly Sysctl[];
  /** Applied once the emulator has opened its tun device. */
  readonly tunRoutes: readonly Route[];
  readonly tunRules: readonly PolicyRule[];
  readonly tunSysctls: readonly Sysctl[];
}

const EDGE_MTU = 1500;
/** Jumbo frames between the GWLB and its targets, as in a VPC: GENEVE adds 68 bytes to a 1500-byte packet. */
const TARGET_MTU = 9001;
/** AWS: tunnel interfaces carry up to 8500 bytes. */
const TUN_MTU = 8500;

/** Validates arguments and fills every default. Throws on bad input before anything is created. */
export function planTopology(args: LabTopologyArgs = {}): LabTopology {
  const prefix = args.prefix ?? DEFAULT_PREFIX;
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new Error(
      `invalid lab prefix "${prefix}": use 1-24 lower-case letters, digits or dashes, starting with a letter`,
    );
  }
  const count = args.appliances ?? 2;
  if (!Number.isInteger(count) || count < 1 || count > 8) {
    throw new Error(`invalid appliance count ${count}: use 1 to 8`);
  }
  const healthPort = args.healthPort ?? 8080;
  if (
    !Number.isInteger(healthPort) ||
    healthPort < 1 ||
    healthPort > 65535 ||
    healthPort === 6081
  ) {
    throw new Error(`invalid health port ${healthPort}: use 1-65535, not 6081 (GENEVE)`);
  }
  const endpointId = args.endpointId ?? 0x1ab2c3d4e5f60718n;
  const attachmentId = args.attachmentId ?? 0x0a0001n;
  for (const [what, v] of [
    ["endpoint id", endpointId],
    ["attachment id", attachmentId],
  ] as const) {
    if (v < 0n || v > 0xffffffffffffffffn)
      throw new Error(`invalid ${what} ${v}: must fit 64 bits`);
  }
  const stateDir = args.stateDir ?? `/run/tollgate-lab/${prefix}`;

  const ns = {
    client: `${prefix}-client`,
    gwlb: `${prefix}-gwlb`,
    internet: `${prefix}-inet`,
    appliances: Array.from({ length: count }, (_, i) => `${prefix}-app${i + 1}`),
  };
  const appliances: ApplianceNode[] = ns.appliances.map((n, i) => ({
    name: `app${i + 1}`,
    ns: n,
    address: `10.10.100.${11 + i}`,
    healthPort,
  }));

  const links: VethLink[] = [
    {
      a: {
        ns: ns.client,
        ifname: "eth0",
        address: "10.10.1.10/24",
        address6: "fd00:10:1::10/64",
        mtu: EDGE_MTU,
      },
      b: {
        ns: ns.gwlb,
        ifname: "c0",
        address: "10.10.1.1/24",
        address6: "fd00:10:1::1/64",
        mtu: EDGE_MTU,
      },
    },
    {
      a: {
        ns: ns.internet,
        ifname: "eth0",
        address: "198.51.100.10/24",
        address6: "2001:db8:100::10/64",
        mtu: EDGE_MTU,
      },
      b: {
        ns: ns.gwlb,
        ifname: "i0",
        address: "198.51.100.1/24",
        address6: "2001:db8:100::1/64",
        mtu: EDGE_MTU,
      },
    },
    ...appliances.map((app, i) => ({
      a: { ns: app.ns, ifname: "eth0", address: `${app.address}/24`, mtu: TARGET_MTU },
      b: { ns: ns.gwlb, ifname: `a${i + 1}`, mtu: TARGET_MTU },
    })),
  ];
  const bridges: Bridge[] = [
    {
      ns: ns.gwlb,
      name: "br0",
      address: "10.10.100.1/24",
      mtu: TARGET_MTU,
      ports: appliances.map((_, i) => `a${i + 1}`),
    },
  ];

  const routes: Route[] = [
    { ns: ns.client, destination: "default", via: "10.10.1.1" },
    // IGW edge route table: the client subnet goes back through the GWLB endpoint.
    { ns: ns.internet, destination: "10.10.1.0/24", via: "198.51.100.1" },
    { ns: ns.client, family: 6, destination: "default", via: "fd00:10:1::1" },
    { ns: ns.internet, family: 6, destination: "fd00:10:1::/64", via: "2001:db8:100::1" },
  ];

  const all = [ns.client, ns.gwlb, ns.internet, ...ns.appliances];
  const sysctls: Sysctl[] = [
    ...all.flatMap((n) => [
      { ns: n, key: "net.ipv4.conf.all.rp_filter", value: "0" },
      { ns: n, key: "net.ipv4.conf.default.rp_filter", value: "0" },
    ]),
    ...[ns.gwlb, ...ns.appliances].flatMap((n) => [
      { ns: n, key: "net.ipv4.ip_forward", value: "1" },
      { ns: n, key: "net.ipv6.conf.all.forwarding", value: "1" },
    ]),
    ...["c0", "i0", "br0"].map((i) => ({
      ns: ns.gwlb,
      key: `net.ipv4.conf.${i}.rp_filter`,
      value: "0",
    })),
  ];

  const tun = "gwlbe0";
  const endpointTable = 100;
  return {
    prefix,
    stateDir,
    namespaces: ns,
    client: {
      address: "10.10.1.10",
      subnet: "10.10.1.0/24",
      address6: "fd00:10:1::10",
      subnet6: "fd00:10:1::/64",
    },
    server: { address: "198.51.100.10", subnet: "198.51.100.0/24", address6: "2001:db8:100::10" },
    gwlb: {
      endpointAddress: "10.10.1.1",
      edgeAddress: "198.51.100.1",
      endpointAddress6: "fd00:10:1::1",
      edgeAddress6: "2001:db8:100::1",
      address: "10.10.100.1",
      tun,
      tunMtu: TUN_MTU,
      endpointTable,
      endpointId,
      attachmentId,
      controlSocket: `${stateDir}/emulator.sock`,
    },
    appliances,
    links,
    bridges,
    routes,
    sysctls,
    tunRoutes: ([4, 6] as const).map((family) => ({
      ns: ns.gwlb,
      family,
      destination: "default",
      dev: tun,
      table: endpointTable,
    })),
    tunRules: ([4, 6] as const).flatMap((family) => [
      { ns: ns.gwlb, family, iif: "c0", table: endpointTable, priority: 100 },
      { ns: ns.gwlb, family, iif: "i0", table: endpointTable, priority: 101 },
    ]),
    tunSysctls: [{ ns: ns.gwlb, key: `net.ipv4.conf.${tun}.rp_filter`, value: "0" }],
  };
}

/** Every namespace of a topology, in creation order. */
export function allNamespaces(t: LabTopology): string[] {
  return [
    t.namespaces.client,
    t.namespaces.gwlb,
    t.namespaces.internet,
    ...t.namespaces.appliances,
  ];
}

/** `vpce-` + the endpoint id in lower-case hex, zero-padded to 17 digits (as AWS names endpoints). */
export function vpceName(endpointId: bigint): string {
  return `vpce-${endpointId.toString(16).padStart(17, "0")}`;
}
