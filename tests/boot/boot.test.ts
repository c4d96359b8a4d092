/**
 * Boot test (root tier, `npm run test:boot`): the user data the stack deploys for Debian 12,
 * run on a booted Debian bookworm system (systemd-nspawn on an mmdebstrap root file system with
 * the distribution's packages pre-installed, like an AMI), networked to a GWLB-side namespace that
 * stands in for S3 and the instance metadata service and sends GENEVE like the GWLB.
 *
 * Only the S3 transport is replaced (the user data's `s3EndpointUrl` seam points it at the
 * stand-in, which serves the objects the stack uploads); the renderer, the release artifact and
 * the unit are the ones the stack deploys. Inside the image the only seam is a wrapper behind
 * Debian's iptables alternatives that can hold the appliance's rule applies (to observe health
 * before rules are applied) and make the tools fail.
 *
 * It boots twice, once per data path (see PROFILES): the unit's `--datapath auto` must choose the
 * user path where the kernel path's needs are withheld (as Debian 12 on EC2 runs it) and the
 * kernel path with what the unit has on an instance; each boot says which runs and carries the
 * emulator's traffic through it, then `systemctl restart`s the unit under paced traffic (loss and
 * interfaces across the restart) and `systemctl stop`s it (the interfaces go). A second boot
 * costs about 20 s (one boot is about 40 s warm).
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DEFAULT_CONFIG } from "@tollgate/appliance";
import * as ipaddr from "ipaddr.js";
import * as YAML from "yaml";
import {
  releaseArtifactSource,
  APPLIANCE_LOG,
  BOOTSTRAP_LOG,
  CONFIG_PATH,
  SYSTEMD_UNIT,
  cloudWatchAgentObject,
  renderUserData,
} from "@tollgate/components";
import { onCleanup, runCleanup } from "./cleanup";
import { buildCloudWatchAgentStub, CWAGENT_STUB_LOG } from "./cloudwatch-stub";
import {
  bootContainer,
  nspawnUnavailable,
  reapStale,
  waitUntil,
  type Container,
  type ContainerPrivileges,
} from "./container";
import { startGwlbSide, type GwlbSide, type HealthAnswer } from "./gwlb-side";
import {
  DATAPATH_VARIANTS,
  variantUnavailable,
  type DatapathVariant,
} from "../appliance/integration/netns";
import {
  breakIptablesTools,
  dataPathChoices,
  diagnostics,
  installToolSeam,
  openToolGate,
  placeUserData,
  readInside,
  startUserData,
  tunInterfaces,
  unitState,
  USER_DATA_UNIT,
} from "./instance";
import { BOOKWORM, ensureRootfs } from "./rootfs";
import { deployedUserData, exampleConfig, type DeployedUserData } from "./stack";

const REPO = path.join(__dirname, "..", "..", "..");
/** The deployed unit: what the container grants and what a restart keeps follow from it. */
const UNIT_TEXT = fs.readFileSync(path.join(REPO, "appliance", "systemd", SYSTEMD_UNIT), "utf8");
/** The unit gives the daemon a file descriptor store: a restart hands the data path over. */
const FD_STORE = /^FileDescriptorStoreMax=[1-9]/m.test(UNIT_TEXT);

/** A cold cache builds the image from Debian's mirror (minutes; see the report in the before hook). */
const ROOTFS_BUILD_TIMEOUT_MS = 20 * 60_000;
/** Building the release on a cold cache (Node.js runtime from the registry, addon, tarball). */
const RELEASE_TIMEOUT_MS = 5 * 60_000;
const BOOT_TIMEOUT_MS = 90_000;
/** From starting the user data to the appliance unit being active. */
const UNIT_ACTIVE_TIMEOUT_MS = 180_000;
const HEALTH_TIMEOUT_MS = 60_000;
/** The emulator's traffic: 2 endpoints, 4 flows per protocol/family set (24 flows), 2 rounds. */
const EMULATION = { endpoints: 2, flowsPerSet: 4, rounds: 2, rate: 1000 };
/** Paced GENEVE across a restart: packets per second, and the most it may send (a cap). */
const RESTART_RATE = 200;
const RESTART_MAX_ROUNDS = 500;
/** The emulator is killed after this (24 flows x 500 rounds at 200 pps is 60 s). */
const RESTART_TRAFFIC_LIMIT_MS = 90_000;
/** The probe's own share of a detection bound: one health request's time limit (curl). */
const PROBE_SLACK_MS = 3000;

/**
 * The documented detection time (appliance README, "Detection times") for the config the user
 * data wrote: broken tools fail the rule engine check within its interval plus its run time (at
 * most 1 s), a broken path fails the canary within (failures + 1) x interval.
 */
function documentedDetectionMs(configYaml: string): number {
  const file = (YAML.parse(configYaml) ?? {}) as {
    health?: { verifyInterval?: number; canary?: { interval?: number; failures?: number } };
  };
  const d = DEFAULT_CONFIG.health;
  const verify = file.health?.verifyInterval ?? d.verifyIntervalSeconds;
  const interval = file.health?.canary?.interval ?? d.canary.intervalSeconds;
  const failures = file.health?.canary?.failures ?? d.canary.failures;
  return 1000 * Math.max(verify + 1, (failures + 1) * interval);
}
/** Steps the bootstrap must have (it may have more; every step it runs must log start and ok). */
const REQUIRED_STEPS = ["tools", "release", "rules", "config", "unit", "start"];

/** The `n`th address of an IPv4 CIDR (`10.100.0.0/24`, 10 -> `10.100.0.10`). */
function hostIn(cidr: string, n: number): string {
  const [network] = ipaddr.parseCIDR(cidr);
  const bytes = network.toByteArray();
  const value = (((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0) + n;
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 0xff).join(".");
}

/** The `step NAME ...` calls of a rendered bootstrap script, in order. */
function scriptSteps(script: string): string[] {
  return [...script.matchAll(/^step (\S+) /gm)].map((m) => m[1]!);
}

/**
 * How one boot is set up and which data path its appliance must run. Both boots run the same
 * user data, unit and release; only what the container lets the unit have differs, and the veth's
 * TX checksum offload (as in the integration tiers: off for the kernel path, as a NIC delivers).
 */
interface BootProfile {
  /** Suite title. */
  readonly title: string;
  /** The data path `--datapath auto` must choose here; namespaces tgc2b<suffix><pid>{g,a}. */
  readonly variant: DatapathVariant;
  readonly privileges: ContainerPrivileges;
  /** Why `auto` falls back to the user path here (the logged reason). */
  readonly fallbackReason?: RegExp;
}

const [USER_PATH, KERNEL_PATH] = DATAPATH_VARIANTS;

const PROFILES: readonly BootProfile[] = [
  {
    // Debian 12 on EC2 runs the user path because its kernel (6.1) has no tcx links; this kernel
    // has them, so the container withholds what the kernel path needs instead (nspawn's defaults:
    // no CAP_BPF/CAP_PERFMON, bpf() filtered, no bpffs): `auto` must fall back and say why. The
    // first thing it misses is bpffs (none on /sys/fs/bpf, and the unit may not mount one).
    title: "a container that withholds BPF: auto falls back to the user path",
    variant: USER_PATH!,
    privileges: { capabilities: ["CAP_NET_ADMIN", "CAP_NET_RAW"], systemCalls: [], bpffs: false },
    fallbackReason: /mount -t bpf bpf \/sys\/fs\/bpf/,
  },
  {
    // What the unit gets as root on an instance whose kernel has tcx (AL2023 on 6.12): exactly
    // the capabilities the deployed unit asks for, the bpf() system call and bpffs on /sys/fs/bpf.
    title: "the unit's capabilities and bpffs, as on an instance: the kernel path",
    variant: KERNEL_PATH!,
    privileges: { capabilities: unitCapabilities(), systemCalls: ["bpf"], bpffs: true },
  },
];

/** The GWLB side's namespace tag (tests/appliance/integration/netns.ts: tgc2<tag><pid>{g,a}). */
function sideTag(p: BootProfile): string {
  return `b${p.variant.suffix}`;
}

/** The capabilities the deployed unit asks for (its CapabilityBoundingSet), from the unit file. */
function unitCapabilities(): string[] {
  const line = /^CapabilityBoundingSet=(.*)$/m.exec(UNIT_TEXT);
  if (!line) throw new Error(`${SYSTEMD_UNIT} has no CapabilityBoundingSet`);
  return line[1]!.trim().split(/\s+/);
}

describe("boot test: the stack's Debian 12 user data on a booted bookworm system (root)", function () {
  this.timeout(10 * 60_000);
  let rootfsDir = "";
  let deployed: DeployedUserData | undefined;

  before(async function () {
    const why = nspawnUnavailable();
    if (why) {
      // Like every root tier it needs root; under CI=true, as root, a missing tool fails.
      if (process.env.CI === "true" && process.getuid?.() === 0) throw new Error(`CI=true: ${why}`);
      console.log(`    skipped: ${why}`);
      this.skip();
    }
    this.timeout(ROOTFS_BUILD_TIMEOUT_MS + RELEASE_TIMEOUT_MS + 5 * 60_000);
    for (const p of PROFILES)
      for (const r of reapStale(`tgc2${sideTag(p)}`, "tgboot"))
        console.log(`    removed stale ${r}`);
    const rootfs = ensureRootfs(BOOKWORM, {
      timeoutMs: ROOTFS_BUILD_TIMEOUT_MS,
      log: (l) => console.log(`    ${l}`),
    });
    if (rootfs.built)
      console.log(
        `    root file system built in ${(rootfs.buildMs! / 1000).toFixed(1)} s (cold cache)`,
      );
    rootfsDir = rootfs.dir;
    deployed = await deployedUserData(
      exampleConfig({ amiFamily: "debian-12", architecture: "x86_64" }),
      releaseArtifactSource(REPO),
    );
  });

  after(() => runCleanup());

  for (const profile of PROFILES)
    describe(profile.title, function () {
      before(function () {
        const why = variantUnavailable(profile.variant);
        if (why) {
          console.log(`    skipped: ${why}`);
          this.skip();
        }
      });
      bootSuite(profile, () => ({ rootfsDir, deployed: deployed! }));
    });
});

/** One boot: the user data run once on a fresh container booted with `profile`'s privileges. */
function bootSuite(
  profile: BootProfile,
  shared: () => { rootfsDir: string; deployed: DeployedUserData },
): void {
  const tag = `tgboot${process.pid}-${profile.variant.datapath}`;
  const expected = profile.variant.datapath;
  let scratch = "";
  let side: GwlbSide | undefined;
  let c: Container | undefined;
  let deployed: DeployedUserData | undefined;
  let script = "";
  const health = () => side!.health(deployed!.healthCheck.port, deployed!.healthCheck.path);

  before(async function () {
    this.timeout(5 * 60_000);
    deployed = shared().deployed;
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), `${tag}-`));
    const dir = scratch;
    onCleanup(`remove ${dir}`, () => fs.rmSync(dir, { recursive: true, force: true }));
    const gwlbSubnet = deployed.input.gwlbSourceCidrs?.[0];
    assert.ok(gwlbSubnet, "the user data names the GWLB's subnets (gwlbSourceCidrs)");
    side = await startGwlbSide({
      tag: sideTag(profile),
      txChecksum: profile.variant.txChecksum,
      objectsDir: path.join(scratch, "s3"),
      region: deployed.input.region,
      gwlbAddress: hostIn(gwlbSubnet, 10),
    });
    for (const o of deployed.objects) side.putObject(deployed.input.bucket, o.key, o.path);
    const agent = cloudWatchAgentObject(deployed.input.region, "x86_64");
    side.putObject(agent.bucket, agent.key, buildCloudWatchAgentStub(scratch));
    script = renderUserData({ ...deployed.input, s3EndpointUrl: side.s3EndpointUrl });
    const t0 = performance.now();
    c = await bootContainer({
      rootfs: shared().rootfsDir,
      name: tag,
      netns: side.applianceNetns,
      bootTimeoutMs: BOOT_TIMEOUT_MS,
      privileges: profile.privileges,
      prepare: (root) => {
        installToolSeam(root, SYSTEMD_UNIT);
        placeUserData(root, script);
      },
    });
    console.log(`    booted in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  });

  // Each step builds on the one before: after a failure (its diagnostics printed) the rest of
  // this boot is skipped; the other boot still runs (mocha's bail would end the whole run).
  let failed = false;
  beforeEach(function () {
    if (failed) this.skip();
  });

  afterEach(function () {
    if (this.currentTest?.state !== "failed" || !c) return;
    failed = true;
    console.log(diagnostics(c, [BOOTSTRAP_LOG, APPLIANCE_LOG], [USER_DATA_UNIT, SYSTEMD_UNIT]));
    console.log(`----- S3/IMDS stand-in requests -----\n${JSON.stringify(side?.requests())}`);
  });

  after(async function () {
    this.timeout(60_000);
    await c?.stop();
    await side?.stop();
  });

  it("renders only the S3 endpoint differently from what the stack deploys", function () {
    const endpoint = side!.s3EndpointUrl;
    const deployedEndpoint = `https://s3.${deployed!.input.region}.amazonaws.com`;
    assert.equal(script.split(endpoint).join(deployedEndpoint), deployed!.userData);
  });

  it("the user data, run once as cloud-init runs it, starts the appliance unit", async function () {
    startUserData(c!);
    await waitUntil(
      `${SYSTEMD_UNIT} to be active`,
      UNIT_ACTIVE_TIMEOUT_MS,
      () => {
        const ud = unitState(c!, USER_DATA_UNIT);
        if (ud.ActiveState === "failed")
          throw new Error(`the user data failed (exit status ${ud.ExecMainStatus})`);
        return unitState(c!, SYSTEMD_UNIT).ActiveState === "active" ? true : undefined;
      },
      1000,
    );
  });

  it("health is 503 while the rules cannot be applied yet", async function () {
    const first = await waitUntil("the health port to answer", HEALTH_TIMEOUT_MS, () => {
      const h = health();
      return h.status !== 0 ? h : undefined;
    });
    assert.equal(first.status, 503, `health answered ${first.status}: ${first.body}`);
    assert.match(String(first.reasons), /rules/, `503 for another reason: ${first.body}`);
    console.log(`    503 before the rules applied: ${first.reasons}`);
  });

  it(`runs the ${expected} data path and says so in its health report and its log`, function () {
    const h = health();
    assert.equal(h.datapath?.path, expected, `health reports: ${h.body}`);
    const chosen = dataPathChoices(c!);
    assert.equal(chosen.length, 1, `one data path choice logged: ${JSON.stringify(chosen)}`);
    const log = chosen[0]!;
    assert.equal(log.datapath, expected, `log: ${JSON.stringify(log)}`);
    if (expected === "user") {
      // The stack deploys `auto`: the fallback is logged with the reason.
      assert.match(String(log.reason), profile.fallbackReason!, `log: ${JSON.stringify(log)}`);
      assert.equal(h.datapath?.kernel, undefined);
      console.log(`    user path; auto fell back because: ${String(log.reason)}`);
    } else {
      assert.equal(log.mode, "auto", "the deployed config leaves --datapath at auto");
      const k = h.datapath?.kernel;
      assert.deepEqual(k?.uplinks, ["ap0"], "tg_decap on the instance's one uplink");
      assert.deepEqual(k?.detached, []);
      console.log(`    kernel path on ${k?.uplinks.join(",")}`);
    }
  });

  it("health turns 200 once the rules can be applied", async function () {
    openToolGate(c!);
    await waitUntil("health 200", HEALTH_TIMEOUT_MS, () =>
      health().status === 200 ? true : undefined,
    );
  });

  it("the user data completes and its log shows every step start and finish ok", async function () {
    const ud = await waitUntil(
      "the user data to finish",
      UNIT_ACTIVE_TIMEOUT_MS,
      () => {
        const s = unitState(c!, USER_DATA_UNIT);
        return s.SubState === "exited" || s.ActiveState === "failed" ? s : undefined;
      },
      1000,
    );
    assert.equal(ud.Result, "success", `user data exit status ${ud.ExecMainStatus}`);
    const steps = scriptSteps(script);
    for (const s of REQUIRED_STEPS)
      assert.ok(steps.includes(s), `the bootstrap has no step "${s}"`);
    const log = readInside(c!, BOOTSTRAP_LOG);
    for (const s of steps) {
      assert.match(log, new RegExp(`step ${s}: start$`, "m"), `step ${s} did not start`);
      assert.match(log, new RegExp(`step ${s}: ok$`, "m"), `step ${s} did not finish ok`);
    }
    assert.doesNotMatch(log, /retrying|FAILED|WARNING/);
    // The agent step ran to the end with the rendered configuration (stub control command).
    assert.match(readInside(c!, CWAGENT_STUB_LOG), /-a fetch-config -m ec2 -s -c file:/);
  });

  it("fetched the release and the rules from the S3 stand-in, nothing failed", function () {
    const s3 = side!.requests().filter((r) => r.service === "s3");
    for (const o of deployed!.objects) {
      const url = `/${deployed!.input.bucket}/${o.key}`;
      assert.ok(
        s3.some((r) => r.url === url && r.status === 200),
        `${url} was not fetched`,
      );
    }
    assert.deepEqual(
      side!.requests().filter((r) => r.status >= 400),
      [],
    );
  });

  it("GENEVE traffic from the GWLB emulator comes back (GENEVE header byte-exact)", async function () {
    const r = await side!.emulate(EMULATION, 120_000);
    console.log(
      `    emulator: sent ${r.sent} (warm-up ${r.warmupSent}) valid ${r.valid} exact ${r.exact} ttl-decremented ${r.ttlDecremented} lost ${r.lost}`,
    );
    assert.equal(r.invalid, 0, `invalid replies: ${JSON.stringify(r.problems)}`);
    // Each measured packet answered once; replies to warm-up rounds held while the endpoints'
    // rules were applied that arrive late are counted apart (`late`), never as valid.
    assert.equal(r.lost, 0, `lost ${r.lost} of ${r.sent}`);
    assert.equal(r.valid, r.sent);
    const h = health();
    assert.equal(h.status, 200, `healthy with endpoints: ${h.body}`);
    if (expected === "kernel") {
      // The new endpoints' first round went up to the daemon (held while their interfaces were
      // set up); a packet or two more may while tg_decap is being told the endpoint is ready.
      const k0 = kernelTotals(h);
      console.log(
        `    kernel path, first traffic: into gwi- ${k0.toGwi}, encapsulated ${k0.fromTuns}, sent up: forward ${k0.puntedForward}, return ${k0.puntedReturn}`,
      );
      // With the endpoints set up, traffic crosses the programs both ways and nothing goes up.
      const again = await side!.emulate(EMULATION, 120_000);
      assert.equal(again.valid, again.sent, `lost ${again.lost} of ${again.sent}`);
      const k1 = kernelTotals(health());
      const crossed = { in: k1.toGwi - k0.toGwi, out: k1.fromTuns - k0.fromTuns };
      const up = k1.puntedForward - k0.puntedForward;
      console.log(
        `    kernel path, second traffic (${again.warmupSent + again.sent} sent): into gwi- ${crossed.in}, encapsulated ${crossed.out}, sent up: forward ${up}, return ${k1.puntedReturn - k0.puntedReturn}`,
      );
      const total = again.warmupSent + again.sent;
      assert.ok(crossed.in >= total, `tg_decap redirected ${crossed.in} of ${total}`);
      assert.ok(crossed.out >= total, `tg_encap encapsulated ${crossed.out} of ${total}`);
      assert.equal(up, 0, "datagrams of set-up endpoints sent up to the daemon");
    }
  });

  it(`a restart under paced GENEVE ${FD_STORE ? "keeps the data path" : "re-creates the data path"} and turns healthy again`, async function () {
    this.timeout(RESTART_TRAFFIC_LIMIT_MS + 2 * HEALTH_TIMEOUT_MS);
    const before = tunInterfaces(c!);
    assert.equal(Object.keys(before).length, 4, `two endpoints: ${JSON.stringify(before)}`);
    const handled = (): number => packetsIn(health());
    const traffic = side!.startTraffic(
      { ...EMULATION, rounds: RESTART_MAX_ROUNDS, rate: RESTART_RATE },
      RESTART_TRAFFIC_LIMIT_MS,
    );
    // Restart once the paced traffic crosses the appliance, and let it run on until the restarted
    // appliance has carried a second's worth: the loss then spans the whole restart.
    const flowing = async (what: string): Promise<void> => {
      const from = handled();
      await waitUntil(what, HEALTH_TIMEOUT_MS, () => {
        if (traffic.done()) throw new Error(`the paced traffic ended early (${what})`);
        return handled() >= from + RESTART_RATE ? true : undefined;
      });
    };
    await flowing("the paced traffic to cross the appliance");
    const k0 = kernelTotals(health());
    const t0 = performance.now();
    c!.run(["systemctl", "restart", SYSTEMD_UNIT], { timeoutMs: HEALTH_TIMEOUT_MS });
    await waitUntil("health 200 after the restart", HEALTH_TIMEOUT_MS, () =>
      health().status === 200 ? true : undefined,
    );
    const restartMs = performance.now() - t0;
    await flowing("the paced traffic to cross the restarted appliance");
    traffic.end();
    const r = await traffic.result;
    const after = tunInterfaces(c!);
    console.log(
      `    restart under ${RESTART_RATE} pps: sent ${r.sent} valid ${r.valid} lost ${r.lost}; health 200 again ${(restartMs / 1000).toFixed(1)} s after systemctl restart; ifindexes ${Object.values(before).join(",")} -> ${Object.values(after).join(",")}`,
    );
    if (expected === "kernel" && FD_STORE) {
      // The maps (flows, endpoints, counters) outlive the daemon in systemd's fd store.
      const h1 = health();
      const reused = h1.datapath?.kernel?.restart?.reusedMaps ?? [];
      assert.ok(reused.includes("tg_flows"), `the restart reused the maps ${reused.join(",")}`);
      const replaced = h1.datapath?.kernel?.restart?.replacedMaps ?? [];
      assert.deepEqual(replaced, [], "the same release's restart loses no map's content");
      const k1 = kernelTotals(h1);
      console.log(
        `    across the restart: tg_decap into gwi- +${k1.toGwi - k0.toGwi}, tg_encap from the tuns +${k1.fromTuns - k0.fromTuns}, sent up forward +${k1.puntedForward - k0.puntedForward}, return +${k1.puntedReturn - k0.puntedReturn}`,
      );
    }
    assert.equal(r.invalid, 0, `invalid replies: ${JSON.stringify(r.problems)}`);
    const choices = dataPathChoices(c!);
    assert.equal(choices.length, 2, `one data path choice per start: ${JSON.stringify(choices)}`);
    assert.equal(choices[1]!.datapath, expected, "the restarted appliance runs the same path");
    assert.deepEqual(Object.keys(after).sort(), Object.keys(before).sort(), "the same interfaces");
    if (FD_STORE) {
      // The unit hands the data path to systemd's fd store: the interfaces outlive the daemon.
      assert.deepEqual(after, before, "the restart kept each gwi-/gwo- interface (same ifindex)");
    }
    // Not a timing assertion: whatever is lost was sent while no daemon served the GENEVE
    // socket, i.e. between `systemctl restart` and health 200 again (plus a second of packets in
    // flight), as measured in this run.
    const window = Math.ceil((restartMs / 1000 + 1) * RESTART_RATE);
    assert.ok(r.lost <= window, `lost ${r.lost}, more than the ${window} sent around the restart`);
  });

  it("health turns 503 within the documented detection time when the iptables tools fail", async function () {
    const documented = documentedDetectionMs(readInside(c!, CONFIG_PATH));
    breakIptablesTools(c!);
    const t0 = performance.now();
    const h = await waitUntil("health 503", documented + PROBE_SLACK_MS, () => {
      const a = health();
      return a.status === 503 ? a : undefined;
    });
    const seconds = ((performance.now() - t0) / 1000).toFixed(1);
    console.log(`    503 after ${seconds} s (documented: ${documented / 1000} s): ${h.reasons}`);
    assert.match(String(h.reasons), /rules/, `503 for another reason: ${h.body}`);
  });

  it("systemctl stop removes the gwi-/gwo- interfaces", async function () {
    assert.notDeepEqual(tunInterfaces(c!), {}, "interfaces before the stop");
    c!.run(["systemctl", "stop", SYSTEMD_UNIT], { timeoutMs: HEALTH_TIMEOUT_MS });
    await waitUntil("the gwi-/gwo- interfaces to go", HEALTH_TIMEOUT_MS, () =>
      Object.keys(tunInterfaces(c!)).length === 0 ? true : undefined,
    );
  });
}

/** The kernel path's per-endpoint packet counts summed, and what it sent up to the daemon. */
function kernelTotals(h: HealthAnswer): {
  toGwi: number;
  fromTuns: number;
  puntedForward: number;
  puntedReturn: number;
} {
  const eps = h.endpoints ?? [];
  return {
    toGwi: eps.reduce((n, e) => n + (e.kernelPackets?.toGwi ?? 0), 0),
    fromTuns: eps.reduce((n, e) => n + (e.kernelPackets?.fromTuns ?? 0), 0),
    puntedForward: h.datapath?.kernel?.puntedForward ?? 0,
    puntedReturn: h.datapath?.kernel?.puntedReturn ?? 0,
  };
}

/** Packets the appliance took in: GENEVE read by the daemon, plus what tg_decap redirected. */
function packetsIn(h: HealthAnswer): number {
  return (h.datapath?.counters?.rxDatagrams ?? 0) + kernelTotals(h).toGwi;
}
