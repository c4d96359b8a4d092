/**
 * The demo's Suricata steps, when the rules file has a `suricata:` section in `ips` mode (the
 * lab's default file has one): an HTTP request carrying the test signature is dropped inline and
 * its alert shown; HTTPS to an allowed name passes and to a denied one is refused (the client
 * sets the SNI with curl --resolve, the internet server has a self-signed certificate); in
 * monitor mode the denied name passes and the alert is still logged; `tollgate alerts` shows
 * what each appliance saw. Every wait is bounded.
 */
import * as fs from "node:fs";
import { ExecRunner, parseRules, type LoadedRules } from "@tollgate/appliance";
import { defaultPaths } from "../orchestrate/processes";
import { applianceFiles, labRulesFile } from "../orchestrate/suricata";
import type { DemoContext, DemoStep, Judged } from "./step";

/** The URI the lab's test signature matches (examples/rules/lab.yaml). */
export const TEST_SIGNATURE_PATH = "/tollgate-test-signature";

interface EveAlert {
  readonly appliance: string;
  /** The EVE line with its appliance: what tells alerts apart. */
  readonly key: string;
  readonly src_ip: string;
  readonly src_port: number;
  readonly dest_ip: string;
  readonly dest_port: number;
  readonly alert: { signature_id: number; signature: string; action: string };
  readonly http?: { url?: string };
  readonly tls?: { sni?: string };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 500 ms until it returns a value or `timeoutMs` passes. */
async function poll<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs: number) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined || Date.now() > end) return v;
    await sleep(500);
  }
}

/** Every alert in the appliances' EVE logs. */
function eveAlerts(c: DemoContext): EveAlert[] {
  const t = c.lab.topology;
  return t.appliances.flatMap((a) => {
    const file = applianceFiles(t, a).eve;
    if (!fs.existsSync(file)) return [];
    return fs
      .readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l.includes('"event_type":"alert"'))
      .map((l) => ({
        ...(JSON.parse(l) as Omit<EveAlert, "appliance" | "key">),
        appliance: a.name,
        key: `${a.name} ${l}`,
      }));
  });
}

function alertText(a: EveAlert): string {
  return `alert on ${a.appliance}: [1:${a.alert.signature_id}] ${a.alert.signature}, ${a.src_ip}:${a.src_port} -> ${a.dest_ip}:${a.dest_port}, action ${a.alert.action}`;
}

/** The alerts logged so far, to tell new ones apart. */
function seenAlerts(c: DemoContext): Set<string> {
  return new Set(eveAlerts(c).map((a) => a.key));
}

/** A new alert (not in `before`) that `match` accepts, within 10 s. */
async function newAlert(c: DemoContext, before: Set<string>, match: (a: EveAlert) => boolean) {
  return poll(() => eveAlerts(c).find((a) => !before.has(a.key) && match(a)), 10_000);
}

/** curl from the client: the HTTP status, or 0 when the request failed (dropped, refused). */
async function curl(c: DemoContext, url: string, resolve?: string): Promise<number> {
  const runner = new ExecRunner({ netns: c.lab.topology.namespaces.client, timeoutMs: 10_000 });
  const args = ["curl", "-sS", "-k", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "2"];
  const r = await runner.run([...args, ...(resolve ? ["--resolve", resolve] : []), url]);
  return r.code === 0 ? Number(r.stdout.trim()) : 0;
}

const https = (c: DemoContext, name: string) =>
  curl(c, `https://${name}/`, `${name}:443:${c.server}`);

/** Waits until every appliance's Suricata listens on its queue (at most 60 s). */
async function suricataReady(c: DemoContext, queue: number): Promise<string | undefined> {
  const t = c.lab.topology;
  const bound = async (ns: string) => {
    const r = await new ExecRunner({ netns: ns, timeoutMs: 5000 }).run([
      "cat",
      "/proc/net/netfilter/nfnetlink_queue",
    ]);
    return r.stdout.split("\n").some((l) => Number(l.trim().split(/\s+/)[0]) === queue && l.trim());
  };
  const ok = await poll(async () => {
    const all = await Promise.all(t.appliances.map((a) => bound(a.ns)));
    return all.every(Boolean) ? true : undefined;
  }, 60_000);
  return ok ? undefined : `Suricata is not on NFQUEUE ${queue} of every appliance after 60 s`;
}

type Section = NonNullable<LoadedRules["file"]["suricata"]>;

function pass(detail: string): Judged {
  return { status: "pass", detail };
}
function fail(detail: string): Judged {
  return { status: "fail", detail };
}

/** HTTP with the test signature: dropped inline, alert shown. */
function signatureStep(c: DemoContext, s: Section): DemoStep {
  const url = `http://${c.server}${TEST_SIGNATURE_PATH}`;
  const base = {
    id: "suricata-signature",
    does: `HTTP GET ${url}: the test signature drops it inline`,
  };
  if (!(s.signatures ?? []).some((sig) => sig.includes(TEST_SIGNATURE_PATH)))
    return { ...base, skip: `no signature in suricata.signatures matches ${TEST_SIGNATURE_PATH}` };
  return {
    ...base,
    async run() {
      const notReady = await suricataReady(c, s.queue ?? 0);
      if (notReady) return fail(notReady);
      const before = seenAlerts(c);
      const code = await curl(c, url);
      const a = await newAlert(c, before, (x) => x.http?.url === TEST_SIGNATURE_PATH);
      if (code !== 0) return fail(`the request was answered (HTTP ${code})`);
      if (!a) return fail("dropped, but no alert in the appliances' eve.json within 10 s");
      c.log(`  ${alertText(a)}`);
      return a.alert.action === "blocked"
        ? pass(`dropped (curl got no answer); ${alertText(a)}`)
        : fail(`dropped, but the alert says ${a.alert.action}`);
    },
  };
}

/** HTTPS with an allowed SNI: passes. */
function allowedStep(c: DemoContext, name: string | undefined): DemoStep {
  const base = {
    id: "suricata-sni-allowed",
    does: `HTTPS to ${name ?? "an allowed name"} (SNI): passes`,
  };
  if (!name) return { ...base, skip: "suricata.domains lists no exact allowed name" };
  return {
    ...base,
    async run() {
      const code = await https(c, name);
      return code === 200
        ? pass(`HTTP ${code} over TLS with SNI ${name}`)
        : fail(`curl got ${code || "no answer"}`);
    },
  };
}

/** HTTPS with a denied SNI: refused in enforce mode, passes with an alert in monitor mode. */
function deniedStep(c: DemoContext, name: string | undefined, monitor: boolean): DemoStep {
  const id = monitor ? "suricata-sni-monitor" : "suricata-sni-denied";
  const does = monitor
    ? `monitor mode: HTTPS to ${name ?? "a denied name"} passes, the alert is logged`
    : `HTTPS to ${name ?? "a denied name"} (SNI): refused`;
  if (!name) return { id, does, skip: "suricata.domains lists no exact denied name" };
  return {
    id,
    does,
    async run() {
      const before = seenAlerts(c);
      const restore = monitor ? setDomainsMode(c, "monitor") : undefined;
      try {
        const want = monitor ? 200 : 0;
        // Monitor mode: the daemons reload the rules when the file changes; retry until then.
        const code = await poll(
          async () => ((await https(c, name)) === want ? want : undefined),
          monitor ? 20_000 : 0,
        );
        const action = monitor ? "allowed" : "blocked";
        const a = await newAlert(
          c,
          before,
          (x) => x.tls?.sni === name && x.alert.action === action,
        );
        if (code !== want)
          return fail(
            monitor
              ? "still refused 20 s after switching to monitor mode"
              : "the TLS handshake was answered",
          );
        if (!a)
          return fail(`no ${action} alert for the name in the appliances' eve.json within 10 s`);
        c.log(`  ${alertText(a)}`);
        return pass(`${monitor ? "passed" : "refused"}; ${alertText(a)}`);
      } finally {
        restore?.();
      }
    },
  };
}

/**
 * The rules text with `suricata.domains.mode` set to `mode` (block-style `domains:` only), or
 * undefined when the file does not let itself be edited that way.
 */
export function withDomainsMode(text: string, mode: "monitor" | "enforce"): string | undefined {
  const lines = text.split("\n");
  const at = lines.findIndex((l) => /^\s+domains:\s*(#.*)?$/.test(l));
  const indent = /^\s+/.exec(lines[at + 1] ?? "")?.[0];
  if (at < 0 || !indent) return undefined;
  let end = at + 1;
  while (end < lines.length && lines[end]!.startsWith(indent)) end++;
  const modeLine = lines.slice(at + 1, end).findIndex((l) => /^\s+mode:/.test(l));
  if (modeLine >= 0) lines[at + 1 + modeLine] = `${indent}mode: ${mode}`;
  else lines.splice(at + 1, 0, `${indent}mode: ${mode}`);
  const out = lines.join("\n");
  const parsed = parseRules(out);
  return parsed.ok && parsed.rules.file.suricata?.domains?.mode === mode ? out : undefined;
}

/** Switches the lab's rules copy to domains mode `mode`; returns what switches it back. */
function setDomainsMode(c: DemoContext, mode: "monitor" | "enforce"): () => void {
  const file = labRulesFile(c.lab.topology);
  const original = fs.readFileSync(file, "utf8");
  const edited = withDomainsMode(original, mode);
  if (edited === undefined) throw new Error(`cannot set suricata.domains.mode in ${file}`);
  fs.writeFileSync(file, edited);
  return () => fs.writeFileSync(file, original);
}

/** What `tollgate alerts` prints for each appliance. */
function alertsStep(c: DemoContext): DemoStep {
  return {
    id: "suricata-alerts",
    does: "tollgate alerts (each appliance's alert log)",
    async run() {
      const t = c.lab.topology;
      const runner = new ExecRunner({ timeoutMs: 20_000 });
      const bin = defaultPaths().applianceBin;
      for (const a of t.appliances) {
        const r = await runner.run([
          process.execPath,
          bin,
          "alerts",
          "--config",
          applianceFiles(t, a).config,
          "-n",
          "5",
        ]);
        c.log(`  ${a.name}: tollgate alerts -n 5`);
        for (const line of `${r.stdout}${r.stderr}`.trimEnd().split("\n")) c.log(`    ${line}`);
      }
      return { status: "info", detail: "alerts as the appliances logged them" };
    },
  };
}

/** The Suricata steps, or one skipped step saying why there are none. */
export function suricataSteps(c: DemoContext): DemoStep[] {
  const parsed = parseRules(fs.readFileSync(labRulesFile(c.lab.topology), "utf8"));
  const s = parsed.ok ? parsed.rules.file.suricata : undefined;
  if (!s || s.mode !== "ips") {
    return [
      {
        id: "suricata",
        does: "Suricata steps",
        skip: "the rules file has no suricata: section in ips mode",
      },
    ];
  }
  const exact = (names: readonly string[] | undefined) =>
    (names ?? []).find((n) => !n.startsWith("."));
  const denied = exact(s.domains?.deny);
  return [
    signatureStep(c, s),
    allowedStep(c, exact(s.domains?.allow)),
    deniedStep(c, denied, false),
    deniedStep(c, denied, true),
    alertsStep(c),
  ];
}
