/**
 * A stand-in appliance for checking the lab itself (`lab --appliance reflector`): returns every
 * GENEVE datagram to its sender unchanged (a pure bump in the wire, no rules) and answers
 * health checks on HTTP. Run inside an appliance namespace:
 *   node lab/dist/agent/reflector.js HEALTH_PORT
 */
import * as dgram from "node:dgram";
import * as http from "node:http";
import { GENEVE_PORT } from "@tollgate/appliance";

const port = Number(process.argv[2] ?? "8080");
let packets = 0;
const udp = dgram.createSocket("udp4");
udp.on("message", (msg, rinfo) => {
  packets++;
  udp.send(msg, GENEVE_PORT, rinfo.address);
});
udp.bind(GENEVE_PORT);
const health = http.createServer((req, res) => {
  if (req.url === "/metrics") {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(`# TYPE lab_reflector_packets_total counter\nlab_reflector_packets_total ${packets}\n`);
    return;
  }
  res.writeHead(200, { "content-type": "text/plain" });
  res.end("ok reflector\n");
});
health.listen(port);
const stop = () => {
  udp.close();
  health.close();
  setTimeout(() => process.exit(0), 50).unref();
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
