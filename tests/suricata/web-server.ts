/**
 * HTTP (port 80) and HTTPS (port 443, the given certificate) server for the Suricata root tier:
 * answers every request with 200 and its path. Concurrent, so connections whose requests
 * Suricata dropped never hold up the next one. Usage: node web-server.js ADDRESS CERT KEY
 */
import fs from "node:fs";
import http from "node:http";
import https from "node:https";

const [address, cert, key] = process.argv.slice(2);
const answer = (req: http.IncomingMessage, res: http.ServerResponse) => res.end(`${req.url}\n`);
http.createServer(answer).listen(80, address);
https
  .createServer({ cert: fs.readFileSync(cert!), key: fs.readFileSync(key!) }, answer)
  .listen(443, address, () => console.log("ready"));
