/**
 * Root tier with real Suricata (scripts/system-deps.sh installs it): the rule engine applies the
 * rules file in the stand-in topology of tests/rules/netns (client C -- appliance A -- server S,
 * namespaces `tgd<pid>-*`), and the Suricata manager runs Suricata inside A. Checked by what
 * arrives where and by Suricata's EVE log: an inline drop, allowed/denied/unlisted SNI, monitor
 * mode, a rules reload under traffic without loss, fail-closed and fail-open with Suricata
 * stopped, and an IDS alert without drop. Under CI=true a missing tool fails instead of skipping.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  type EndpointRef,
  MINIMAL_CAPABILITIES,
  RulesEngine,
  Supervisor,
  SuricataManager,
} from "@tollgate/appliance";
import { selfSignedCertificate } from "@tollgate/lab";
import { rules } from "../rules/load";
import { Lab, SERVER4, skipReason } from "../rules/netns/topology";
import { waitUntil } from "../wait";

const EP: EndpointRef[] = [{ gwi: "gwi-1", gwo: "gwo-1" }];
const SIG_SID = 1000001;

/** The rules file of each step: the suricata: section varies, the rest stays. */
function rulesYaml(suricata: string): string {
  return `version: 1
defaults: { mode: inspect, policy: allow, protected: [10.10.1.0/24] }
rules:
  - { action: allow }
suricata:
${suricata}`;
}

const IPS = (failure: string, domainsMode: string, extra = "") => `  mode: ips
  failure: ${failure}
  queue: 7
  traffic:
    - { proto: tcp, ports: [80, 443] }
    - { proto: icmp }
  signatures:
    - 'drop http any any -> any any (msg:"tollgate test signature"; http.uri; content:"/tollgate-test-signature"; sid:${SIG_SID}; rev:1;)'${extra}
  domains:
    mode: ${domainsMode}
    deny: [blocked.example]
    allow: [allowed.example]
    default: deny
`;

const IDS = `  mode: ids
  traffic:
    - { proto: tcp, ports: [80] }
  signatures:
    - 'alert http any any -> any any (msg:"tollgate test signature"; http.uri; content:"/tollgate-test-signature"; sid:${SIG_SID}; rev:1;)'
`;

interface EveEvent {
  event_type: string;
  alert?: { signature_id: number; action: string };
  tls?: { sni?: string };
}

describe("Suricata IPS/IDS managed by the appliance (root, real Suricata)", function () {
  this.timeout(180000);
  const lab = new Lab();
  let dir: string;
  let engine: RulesEngine;
  let manager: SuricataManager;
  let supervisor: Supervisor;
  const servers: ChildProcess[] = [];
  const logs: string[] = [];

  const rulesFile = () => path.join(dir, "rules.yaml");
  const eve = (): EveEvent[] => {
    const file = path.join(dir, "log", "eve.json");
    if (!fs.existsSync(file)) return [];
    return fs
      .readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as EveEvent);
  };
  const alerts = (sid: number) =>
    eve().filter((e) => e.event_type === "alert" && e.alert?.signature_id === sid);

  /** Writes the rules file, applies its kernel side and updates Suricata, like the daemon does. */
  async function use(suricata: string): Promise<void> {
    fs.writeFileSync(rulesFile(), rulesYaml(suricata));
    const loaded = rules(fs.readFileSync(rulesFile(), "utf8"));
    await engine.apply(loaded, EP);
    await manager.update(loaded);
  }

  async function waitUp(): Promise<void> {
    await waitUntil(
      "Suricata up",
      async () => {
        await manager.poll();
        return manager.status().up;
      },
      60000,
    ).catch((e: Error) => {
      throw new Error(
        `${e.message}: ${JSON.stringify(manager.health())}; ${logs.slice(-8).join(" | ")}`,
      );
    });
  }

  /** curl from the client: HTTP status code, or 0 when the request failed (dropped, refused). */
  function curl(url: string, ...extra: string[]): number {
    try {
      const out = execFileSync(
        "ip",
        [
          "netns",
          "exec",
          lab.c,
          "curl",
          "-sS",
          "-k",
          "-o",
          "/dev/null",
          "-w",
          "%{http_code}",
          "--max-time",
          "4",
          ...extra,
          url,
        ],
        { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
      );
      return Number(out.trim());
    } catch {
      return 0;
    }
  }
  const https = (name: string) => curl(`https://${name}/`, "--resolve", `${name}:443:${SERVER4}`);
  const http = (name: string, p: string) =>
    curl(`http://${name}${p}`, "--resolve", `${name}:80:${SERVER4}`);

  /** Pings S from C without blocking the event loop: echo replies received of `count`. */
  const ping = (count: number, interval = "0.2") => lab.pingAsync(SERVER4, count, interval);

  before(async function () {
    const reason = skipReason(["ipset", "ping", "suricata", "curl", "openssl"]);
    if (reason) {
      if (process.env.CI === "true") throw new Error(`CI=true: ${reason}`);
      console.log(`    skipped: ${reason}`);
      this.skip();
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tgd-suricata-"));
    selfSignedCertificate(path.join(dir, "cert.pem"), path.join(dir, "key.pem"));
    lab.setup();
    engine = new RulesEngine({
      runner: lab.runner,
      capabilities: { ...MINIMAL_CAPABILITIES, source: "given" },
      stateFile: path.join(dir, "state.json"),
    });
    const web = ["netns", "exec", lab.s, process.execPath, path.join(__dirname, "web-server.js")];
    const pems = ["cert.pem", "key.pem"].map((f) => path.join(dir, f));
    servers.push(spawn("ip", [...web, SERVER4, ...pems], { stdio: "ignore" }));
    const logger = {
      info: (o: object, m: string) => void logs.push(`${m} ${JSON.stringify(o)}`),
      warn: (o: object, m: string) => void logs.push(`${m} ${JSON.stringify(o)}`),
      error: (o: object, m: string) => void logs.push(`ERROR ${m} ${JSON.stringify(o)}`),
    };
    // A long backoff: a Suricata killed by the test stays down while the test looks.
    supervisor = new Supervisor({ logger, backoffMs: 120000 });
    manager = new SuricataManager({
      rulesFile: path.join(dir, "rules.yaml"),
      logDir: path.join(dir, "log"),
      runDir: path.join(dir, "run"),
      command: ["ip", "netns", "exec", lab.a, "suricata"],
      runner: lab.runner,
      logger,
      supervisor,
      readQueues: async () => lab.sh(lab.a, "cat", "/proc/net/netfilter/nfnetlink_queue"),
    });
  });

  after(async () => {
    if (process.env.TG_DEBUG) {
      console.log(logs.join("\n"));
      console.log(
        eve()
          .map((e) => JSON.stringify(e))
          .slice(0, 60)
          .join("\n"),
      );
      console.log(`DEBUG dir ${dir} ns ${lab.a}`);
      await new Promise((r) => setTimeout(r, Number(process.env.TG_DEBUG) * 1000));
    }
    await manager?.close();
    for (const s of servers) if (s.pid) execFileSync("kill", [String(s.pid)], { stdio: "ignore" });
    lab.destroy();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("ips: drops an HTTP request carrying the test signature inline, with the alert in EVE", async () => {
    await use(IPS("closed", "enforce"));
    await waitUp();
    // HTTP to an allowed name: the default deny of the domain lists does not apply.
    const ok = () => http("allowed.example", "/ok") === 200;
    await waitUntil("a clean request passes", ok, 10000);
    const sig = http("allowed.example", "/tollgate-test-signature");
    assert.equal(sig, 0, "the signature's request is dropped");
    await waitUntil("alert in eve.json", () => alerts(SIG_SID).length > 0, 15000);
    assert.equal(alerts(SIG_SID)[0]!.alert!.action, "blocked");
    assert.deepEqual(
      manager.health().map((h) => [h.name, h.ok]),
      [["suricata", true]],
    );
  });

  it("domains: allowed SNI passes, denied and unlisted SNI are refused", async () => {
    assert.equal(https("allowed.example"), 200);
    assert.equal(https("blocked.example"), 0);
    assert.equal(https("other.example"), 0, "default: deny refuses names on no list");
    await waitUntil(
      "deny and default-deny alerts",
      () => alerts(9746000).length > 0 && alerts(9746002).length > 0,
      15000,
    );
  });

  it("reloads rules under traffic without losing a packet", async () => {
    const before = manager.status().reloads.ok;
    const pinging = ping(400, "0.01");
    const extra = (n: number) =>
      `\n    - 'alert tcp any any -> any 9 (msg:"reload ${n}"; sid:${2000000 + n}; rev:1;)'`;
    for (let n = 1; n <= 2; n++) await use(IPS("closed", "enforce", extra(n)));
    assert.equal(
      manager.status().reloads.ok,
      before + 2,
      logs.filter((l) => l.includes("ERROR")).join("\n"),
    );
    assert.equal(await pinging, 400, "every echo request came back during two reloads");
  });

  it("monitor mode alerts on a denied name without blocking it", async () => {
    const seen = alerts(9746000).length;
    await use(IPS("closed", "monitor"));
    assert.equal(https("blocked.example"), 200);
    await waitUntil("monitor alert", () => alerts(9746000).length > seen, 15000);
    assert.equal(alerts(9746000).at(-1)!.alert!.action, "allowed");
  });

  it("fail-closed: with Suricata stopped inspected traffic is dropped and health fails", async () => {
    process.kill(supervisor.status().pid!, "SIGKILL");
    await waitUntil(
      "Suricata off its queue",
      async () => {
        await manager.poll();
        return !manager.status().up;
      },
      10000,
    );
    assert.equal(await ping(3), 0);
    const [h] = manager.health();
    assert.equal(h?.ok, false);
    assert.match(h!.detail!, /inspected traffic is dropped \(failure: closed\)/);
  });

  it("fail-open: with Suricata stopped traffic passes and health says fail-open", async () => {
    await use(IPS("open", "enforce"));
    await waitUp();
    process.kill(supervisor.status().pid!, "SIGKILL");
    await waitUntil(
      "fail-open state",
      async () => {
        await manager.poll();
        return manager.status().failOpen;
      },
      10000,
    );
    assert.equal(await ping(3), 3);
    const [h] = manager.health();
    assert.equal(h?.ok, true);
    assert.match(h!.detail!, /^FAIL-OPEN active: /);
  });

  it("ids: a copy is inspected, the alert is raised and nothing is dropped", async () => {
    await use(IDS);
    await waitUp();
    const seen = alerts(SIG_SID).length;
    // AF_PACKET capture starts a moment after the process: retry until the copy is seen.
    await waitUntil(
      "IDS alert from the TEE copy",
      () => {
        assert.equal(curl(`http://${SERVER4}/tollgate-test-signature`), 200, "ids never drops");
        return alerts(SIG_SID).length > seen;
      },
      30000,
    );
    assert.equal(alerts(SIG_SID).at(-1)!.alert!.action, "allowed");
  });
});
