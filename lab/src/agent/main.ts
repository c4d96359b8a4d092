/**
 * A lab agent, run inside one of the lab's namespaces:
 *   node lab/dist/agent/main.js server '<ServerConfig JSON>' SOCKET   (internet namespace)
 *   node lab/dist/agent/main.js client SOCKET                          (client namespace)
 * Both answer on a Unix control socket: the server its per-service counters, the client runs probes.
 */
import { serveControl } from "../control";
import { runProbe, type Probe } from "./probes";
import { LabServer, type ServerConfig } from "./server";

async function main(): Promise<void> {
  const [role, a, b] = process.argv.slice(2);
  if (role === "server" && a && b) {
    const server = new LabServer(JSON.parse(a) as ServerConfig);
    await server.start();
    const control = await serveControl(b, { "GET /stats": () => server.stats });
    const stop = () => {
      server.close();
      control.close();
      setTimeout(() => process.exit(0), 50).unref();
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  } else if (role === "client" && a) {
    const control = await serveControl(a, {
      "GET /ready": () => ({ ok: true }),
      "POST /probe": (body) => runProbe(body as Probe),
    });
    const stop = () => {
      control.close();
      setTimeout(() => process.exit(0), 50).unref();
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  } else {
    throw new Error("usage: agent/main.js server '<config JSON>' SOCKET | client SOCKET");
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`agent: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
