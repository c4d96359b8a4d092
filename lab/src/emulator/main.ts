/**
 * The GWLB emulator process, run inside the lab's gwlb namespace:
 *   node lab/dist/emulator/main.js '<EmulatorConfig JSON>'
 * It plays the GWLB endpoint (a tun device: client and internet traffic is policy-routed into
 * it) and the load balancer (GENEVE to the appliances on UDP 6081, HTTP health checks,
 * rebalancing), and serves its status on a Unix control socket.
 *
 * Not the same thing as testbed/src/emulator (`@tollgate/testbed`, `tollgate-emu`): that one is a
 * GENEVE peer library/CLI that sends GWLB-style datagrams to a single appliance over a UDP socket
 * and validates each reply; this one is the lab's whole GWLB (endpoint tun, flow hashing across
 * several appliances, health checks, failover).
 */
import * as dgram from "node:dgram";
import * as http from "node:http";
import { randomInt } from "node:crypto";
import { Balancer } from "./balancer";
import {
  parseEmulatorConfig,
  type EmulatorEvent,
  type EmulatorStatus,
  type FlowView,
} from "./config";
import { EmulatorCore } from "./core";
import { FlowTable } from "./flow-table";
import { HealthMonitor, httpHealthProbe } from "./health-monitor";
import { EndpointTun } from "./tun";
import { serveControl, TextReply } from "../control";
import { GENEVE_PORT } from "@tollgate/appliance";

function fetchText(
  address: string,
  port: number,
  path: string,
  timeoutMs: number,
): Promise<TextReply> {
  return new Promise((resolve) => {
    const req = http.get({ host: address, port, path, timeout: timeoutMs, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve(new TextReply(body, res.statusCode ?? 502)));
    });
    req.on("timeout", () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on("error", (e: NodeJS.ErrnoException) =>
      resolve(new TextReply(`unreachable: ${e.code ?? e.message}\n`, 502)),
    );
  });
}

async function main(): Promise<void> {
  const arg = process.argv[2];
  if (!arg) throw new Error("usage: emulator/main.js '<config JSON>'");
  const config = parseEmulatorConfig(arg);
  const started = Date.now();
  const events: EmulatorEvent[] = [];
  const log = (text: string) => {
    const e = { t: Date.now() - started, text };
    events.push(e);
    if (events.length > 500) events.shift();
    process.stdout.write(`${JSON.stringify({ event: text, t: e.t })}\n`);
  };

  const flows = new FlowTable({
    now: Date.now,
    random32: () => randomInt(1, 0xffffffff),
    tcpIdleMs: config.tcpIdleMs,
    otherIdleMs: config.otherIdleMs,
  });
  const balancer = new Balancer({
    targets: config.targets.map((t) => t.name),
    hashMode: config.hashMode,
    failover: config.failover,
    flows,
  });
  const core = new EmulatorCore({
    endpointId: BigInt(`0x${config.endpointIdHex}`),
    attachmentId: BigInt(`0x${config.attachmentIdHex}`),
    targets: config.targets,
    hashMode: config.hashMode,
    balancer,
    now: Date.now,
  });

  const tun = EndpointTun.open(config.tun, config.tunMtu);
  const udp = dgram.createSocket({
    type: "udp4",
    recvBufferSize: 4 << 20,
    sendBufferSize: 4 << 20,
  });
  await new Promise<void>((resolve, reject) => {
    udp.once("error", reject);
    udp.bind(GENEVE_PORT, config.listenAddress, () => resolve());
  });
  udp.on("error", (e) => log(`udp error: ${e.message}`));
  udp.on("message", (msg, rinfo) => {
    const r = core.fromTarget(msg, rinfo.address);
    if (r.ok) tun.write(r.inner);
  });
  tun.start((packet) => {
    const r = core.fromEndpoint(packet);
    if (!r.ok) return;
    if (r.created) {
      const f = r.flow.first;
      const ports =
        f.srcPort !== undefined ? `:${f.srcPort} -> ${f.dst}:${f.dstPort}` : ` -> ${f.dst}`;
      if (flows.size <= 2000) {
        process.stdout.write(
          `${JSON.stringify({ flow: `proto ${f.protocol} ${f.src}${ports}`, target: r.target.name, cookie: r.flow.cookie.toString(16).padStart(8, "0") })}\n`,
        );
      }
    }
    udp.send(r.datagram, r.port, r.target.address);
  });

  const monitor = new HealthMonitor(
    config.targets.map((t) => ({ name: t.name, address: t.address, port: t.healthPort })),
    config.health,
    httpHealthProbe,
    (name, tr, detail) => {
      const moved = core.setTargetState(name, tr.to);
      let text = `target ${name}: ${tr.from} -> ${tr.to} (${detail})`;
      if (moved) {
        const dest = Object.entries(moved.to)
          .map(([t, n]) => `${n} to ${t}`)
          .join(", ");
        text += `; rebalanced ${moved.moved} flow(s)${dest ? ` (${dest})` : ""}`;
      }
      log(text);
    },
  );
  monitor.start();
  const expiry = setInterval(() => flows.expire(), 5000);

  const status = (): EmulatorStatus => {
    const health = new Map(monitor.snapshot().map((h) => [h.name, h]));
    const perTarget = new Map<string, number>();
    for (const f of flows.entries()) perTarget.set(f.target, (perTarget.get(f.target) ?? 0) + 1);
    const c = core.counters;
    return {
      uptimeMs: Date.now() - started,
      endpointIdHex: config.endpointIdHex,
      attachmentIdHex: config.attachmentIdHex,
      hashMode: config.hashMode,
      failover: config.failover,
      tun: { name: tun.name, rx: tun.rxPackets, tx: tun.txPackets, txErrors: tun.txErrors },
      targets: config.targets.map((t) => ({
        name: t.name,
        address: t.address,
        state: health.get(t.name)?.state ?? "initial",
        detail: health.get(t.name)?.detail ?? "",
        checks: health.get(t.name)?.checks ?? 0,
        sentPackets: c.targets[t.name]?.sentPackets ?? 0,
        returnedPackets: c.targets[t.name]?.returnedPackets ?? 0,
        flows: perTarget.get(t.name) ?? 0,
      })),
      counters: {
        endpointRx: c.endpointRx,
        encapsulated: c.encapsulated,
        geneveRx: c.geneveRx,
        decapsulated: c.decapsulated,
        returnedOtherTuple: c.returnedOtherTuple,
        returnedByPreviousTarget: c.returnedByPreviousTarget,
        flowsCreated: c.flowsCreated,
        flowsMoved: balancer.movedTotal,
        flowsExpired: flows.expired,
        drops: { ...c.drops },
      },
      flowCount: flows.size,
      events,
    };
  };
  const flowViews = (): FlowView[] => {
    const now = Date.now();
    return flows.entries().map((f) => ({
      protocol: f.first.protocol,
      src: f.first.src,
      dst: f.first.dst,
      ...(f.first.srcPort !== undefined
        ? { srcPort: f.first.srcPort, dstPort: f.first.dstPort }
        : {}),
      cookie: f.cookie.toString(16).padStart(8, "0"),
      target: f.target,
      targets: [...f.targets],
      forward: { ...f.forward },
      reverse: { ...f.reverse },
      returned: { ...f.returned },
      ageMs: now - f.createdAt,
      idleMs: now - f.lastSeen,
    }));
  };
  const target = (q: URLSearchParams) => {
    const t = config.targets.find((x) => x.name === q.get("target"));
    if (!t) throw new Error(`unknown target ${q.get("target")}`);
    return t;
  };

  const control = await serveControl(config.controlSocket, {
    "GET /status": () => status(),
    "GET /flows": () => flowViews(),
    // The controller has no route into the namespaces: the emulator fetches appliance endpoints for it.
    "GET /target/metrics": (_b, q) => {
      const t = target(q);
      return fetchText(t.address, t.healthPort, "/metrics", 2000);
    },
    "GET /target/health": (_b, q) => {
      const t = target(q);
      return fetchText(t.address, t.healthPort, config.health.path, 2000);
    },
  });
  log(
    `emulator up: endpoint ${tun.name}, GENEVE from ${config.listenAddress}:${GENEVE_PORT}, ` +
      `${config.targets.length} target(s), ${config.hashMode} hash, target failover ${config.failover}`,
  );

  const shutdown = (sig: string) => {
    log(`emulator stopping (${sig})`);
    monitor.stop();
    clearInterval(expiry);
    control.close();
    udp.close();
    tun.close();
    setTimeout(() => process.exit(0), 50).unref();
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));
}

main().catch((e: unknown) => {
  process.stderr.write(`emulator: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
