import { tunNames, type CommandRunner } from "@tollgate/appliance";
import type { ServerStats } from "../agent/server";
import { controlJson, controlRequest } from "../control";
import type { EmulatorStatus, FlowView } from "../emulator/config";
import { serverSocket } from "../orchestrate/processes";
import { allNamespaces, vpceName, type LabTopology } from "../topology/plan";
import type { InterfaceCounters, TraceSnapshot } from "./format";
import { parsePrometheus } from "./metrics";

interface IpLinkJson {
  ifname: string;
  stats64?: { rx: { packets: number; dropped: number }; tx: { packets: number; dropped: number } };
}

/** Interface counters of every namespace of the lab (loopback excluded). */
export async function interfaceCounters(
  runner: CommandRunner,
  t: LabTopology,
): Promise<InterfaceCounters[]> {
  const out: InterfaceCounters[] = [];
  for (const ns of allNamespaces(t)) {
    const r = await runner.run(["ip", "-n", ns, "-s", "-j", "link", "show"]);
    if (r.code !== 0) continue;
    let links: IpLinkJson[] = [];
    try {
      links = JSON.parse(r.stdout) as IpLinkJson[];
    } catch {
      continue;
    }
    for (const l of links) {
      if (l.ifname === "lo" || !l.stats64) continue;
      out.push({
        ns,
        ifname: l.ifname,
        rxPackets: l.stats64.rx.packets,
        txPackets: l.stats64.tx.packets,
        rxDropped: l.stats64.rx.dropped,
        txDropped: l.stats64.tx.dropped,
      });
    }
  }
  return out;
}

/** Gathers the trace snapshot from the emulator, the appliances (via the emulator), the server and `ip`. */
export async function collectSnapshot(
  runner: CommandRunner,
  t: LabTopology,
  running: (appliance: string) => boolean,
): Promise<TraceSnapshot> {
  const sock = t.gwlb.controlSocket;
  const [emulator, flows, server, interfaces] = await Promise.all([
    controlJson<EmulatorStatus>(sock, "GET", "/status"),
    controlJson<FlowView[]>(sock, "GET", "/flows"),
    controlJson<ServerStats>(serverSocket(t), "GET", "/stats").catch(() => ({}) as ServerStats),
    interfaceCounters(runner, t),
  ]);
  const appliances = await Promise.all(
    t.appliances.map(async (a) => {
      if (!running(a.name)) return { name: a.name, address: a.address, running: false };
      try {
        const r = await controlRequest(
          sock,
          "GET",
          `/target/metrics?target=${a.name}`,
          undefined,
          3000,
        );
        if (r.status !== 200)
          return {
            name: a.name,
            address: a.address,
            running: true,
            metricsError: `${r.status} ${r.text.trim()}`,
          };
        return {
          name: a.name,
          address: a.address,
          running: true,
          metrics: parsePrometheus(r.text),
        };
      } catch (e) {
        return {
          name: a.name,
          address: a.address,
          running: true,
          metricsError: (e as Error).message,
        };
      }
    }),
  );
  const names = tunNames(t.gwlb.endpointId);
  return {
    clientAddress: t.client.address,
    serverAddress: t.server.address,
    endpointAddress: t.gwlb.endpointAddress,
    edgeAddress: t.gwlb.edgeAddress,
    gwlbAddress: t.gwlb.address,
    clientSubnet: t.client.subnet,
    endpointAddress6: t.gwlb.endpointAddress6,
    edgeAddress6: t.gwlb.edgeAddress6,
    clientSubnet6: t.client.subnet6,
    tun: t.gwlb.tun,
    endpointTable: t.gwlb.endpointTable,
    vpce: vpceName(t.gwlb.endpointId),
    gwi: names.gwi,
    gwo: names.gwo,
    emulator,
    flows,
    appliances,
    interfaces,
    server,
  };
}
