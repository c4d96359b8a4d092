import { ExecRunner, type CommandRunner } from "@tollgate/appliance";
import { allNamespaces, type LabTopology, type PolicyRule, type Route, type Sysctl } from "./plan";

/** One command as an argv array: never a shell string. */
export type Argv = readonly string[];

/** How long one lab command may run before it is killed. */
const LAB_COMMAND_TIMEOUT_MS = 10_000;

/** The runner the lab uses on this host: no shell, each command killed after 10 s. */
export function labCommandRunner(): CommandRunner {
  return new ExecRunner({ timeoutMs: LAB_COMMAND_TIMEOUT_MS });
}

/** A named group of commands, run in order; the name is shown as progress. */
export interface CommandStep {
  readonly title: string;
  readonly commands: readonly Argv[];
}

function sysctlArgv(s: Sysctl): Argv {
  return ["ip", "netns", "exec", s.ns, "sysctl", "-qw", `${s.key}=${s.value}`];
}

function routeArgv(r: Route): Argv {
  const argv = [
    "ip",
    ...(r.family === 6 ? ["-6"] : []),
    "-n",
    r.ns,
    "route",
    "replace",
    r.destination,
  ];
  if (r.via) argv.push("via", r.via);
  if (r.dev) argv.push("dev", r.dev);
  if (r.table !== undefined) argv.push("table", String(r.table));
  return argv;
}

function ruleArgv(r: PolicyRule): Argv {
  return [
    "ip",
    ...(r.family === 6 ? ["-6"] : []),
    "-n",
    r.ns,
    "rule",
    "add",
    "pref",
    String(r.priority),
    "iif",
    r.iif,
    "lookup",
    String(r.table),
  ];
}

/**
 * Commands that build the namespaces and links (before any process starts). Interfaces are
 * created directly inside the lab's namespaces (`ip link add ... netns A ... peer ... netns B`),
 * so no interface of the lab ever exists in the host namespace, not even for a moment.
 */
export function setupSteps(t: LabTopology): CommandStep[] {
  const nss = allNamespaces(t);
  return [
    {
      title: `create namespaces ${nss.join(", ")}`,
      commands: [
        ...nss.map((n) => ["ip", "netns", "add", n]),
        ...nss.map((n) => ["ip", "-n", n, "link", "set", "lo", "up"]),
      ],
    },
    {
      title: "create veth links and the bridge to the appliances",
      commands: [
        ...t.links.map((l) => [
          "ip",
          "link",
          "add",
          l.a.ifname,
          "netns",
          l.a.ns,
          "mtu",
          String(l.a.mtu),
          "type",
          "veth",
          "peer",
          "name",
          l.b.ifname,
          "netns",
          l.b.ns,
          "mtu",
          String(l.b.mtu),
        ]),
        ...t.bridges.flatMap((b) => [
          ["ip", "-n", b.ns, "link", "add", b.name, "mtu", String(b.mtu), "type", "bridge"],
          ...b.ports.map((p) => ["ip", "-n", b.ns, "link", "set", p, "master", b.name]),
        ]),
      ],
    },
    {
      title: "sysctls: forwarding on, rp_filter off",
      commands: t.sysctls.map(sysctlArgv),
    },
    {
      title: "addresses and links up",
      commands: [
        ...t.links.flatMap((l) =>
          [l.a, l.b].flatMap((side) => [
            ...(side.address
              ? [["ip", "-n", side.ns, "addr", "add", side.address, "dev", side.ifname]]
              : []),
            // nodad: usable at once, no duplicate address detection delay.
            ...(side.address6
              ? [["ip", "-n", side.ns, "addr", "add", side.address6, "dev", side.ifname, "nodad"]]
              : []),
            ["ip", "-n", side.ns, "link", "set", side.ifname, "up"],
          ]),
        ),
        ...t.bridges.flatMap((b) => [
          ["ip", "-n", b.ns, "addr", "add", b.address, "dev", b.name],
          ["ip", "-n", b.ns, "link", "set", b.name, "up"],
        ]),
      ],
    },
    {
      title: "routes: client default via the GWLB endpoint, internet edge route back to it",
      commands: t.routes.map(routeArgv),
    },
  ];
}

/** Commands run once the emulator has opened its tun device: steer client and internet traffic into it. */
export function tunSteps(t: LabTopology): CommandStep[] {
  return [
    {
      title: `steer endpoint traffic into ${t.gwlb.tun} (policy routing table ${t.gwlb.endpointTable})`,
      commands: [
        [
          "ip",
          "-n",
          t.namespaces.gwlb,
          "link",
          "set",
          t.gwlb.tun,
          "mtu",
          String(t.gwlb.tunMtu),
          "up",
        ],
        ...t.tunSysctls.map(sysctlArgv),
        ...t.tunRoutes.map(routeArgv),
        ...t.tunRules.map(ruleArgv),
      ],
    },
  ];
}

/** Deleting a namespace deletes every interface in it (veth peers, bridge, tun) with it. */
export function namespaceDeleteCommands(namespaces: readonly string[]): Argv[] {
  return namespaces.map((n) => ["ip", "netns", "del", n]);
}
