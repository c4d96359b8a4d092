#!/usr/bin/env bash
# npm run bench:ids — what Suricata inline (IPS) costs: the same appliance and rules file without
# and with a `suricata:` section, measured by scripts/bench-appliance.sh (same namespaces, load
# generator, CPU and loss-free-rate method) one after the other in this run.
#
#   plain: testbed/src/ids-bench.ts's plain.yaml (kernel forwarding, allow all);
#   ips:   the same plus `suricata: { mode: ips, failure: closed }` (every packet through NFQUEUE),
#          SIGNATURES generated signatures (bench.rules: HTTP, TLS, TCP, UDP, DNS, ICMP) and
#          DOMAINS names in each of the deny and allow lists.
#
# Each bench-appliance.sh run also measures its reflect ceiling; the figures compared are
# ips / plain, and each normalised by its own run's ceiling (robust to the machine's load moving
# between the two runs). CPU per packet three ways (bench-appliance.sh's header): the appliance's
# process tree (tollgate and its Suricata, pinned together to CPU 1; on the user data path it also
# carries the kernel forwarding and NFQUEUE work done in its system calls), the testbed (plus the
# load generator and ksoftirqd) and the whole machine (the work idle-priority soakers lose on every
# CPU, calibrated idle in the same run: disturbed by other load on a shared machine). The loss-free
# rate is taken with the appliance's receive work steered to its CPU ("split" placement).
#
# Environment: SIGNATURES (3000) DOMAINS (200) DATAPATH_MODE (user: the tollgate data path, user
# or kernel), and bench-appliance.sh's (RATE DUR REPS TRIAL LO HI SIZE FLOWS WARMUP_TRIES ...). The inner packets are routed by the kernel (TTL one lower): loadgen -H 1.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
SIGNATURES=${SIGNATURES:-3000} DOMAINS=${DOMAINS:-200} DATAPATH_MODE=${DATAPATH_MODE:-user}

die() { echo "bench:ids: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root; run: sudo npm run bench:ids"
command -v suricata >/dev/null || die "needs suricata: bash scripts/system-deps.sh --install"

work=$(mktemp -d /tmp/tollgate-bench-ids.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
node "$here/testbed/dist/ids-bench.js" --out "$work" --signatures "$SIGNATURES" --domains "$DOMAINS"

echo "bench:ids: $(suricata -V 2>&1 | head -n1); $SIGNATURES signatures + $DOMAINS deny / $DOMAINS allow domains"
echo "bench:ids: load before $(cut -d' ' -f1-3 /proc/loadavg)"
for variant in plain ips; do
  cat >"$work/$variant-config.yaml" <<EOF
rules: $work/$variant.yaml
suricata:
  logDir: $work/$variant-suricata
  runDir: $work/$variant-run
alerts:
  log: $work/$variant-alerts.json
EOF
  echo "bench:ids: === $variant ==="
  APPLIANCE_CMD="node $here/appliance/bin/tollgate.js --config $work/$variant-config.yaml -p 18081 ${TOLLGATE_ARGS:-}" \
    APPLIANCE_LOADGEN_ARGS="-H 1" BENCH_RESULT="$work/$variant.json" SCALING="${SCALING:-0}" \
    bash "$here/scripts/bench-appliance.sh"
done
echo "bench:ids: load after $(cut -d' ' -f1-3 /proc/loadavg)"

node -e '
  const [plain, ips] = process.argv.slice(1).map((f) => JSON.parse(require("fs").readFileSync(f, "utf8")));
  const f = (v, d = 2) => (v === undefined || v === null ? "-" : Number(v).toFixed(d)).padStart(10);
  const x = (a, b) => (a && b ? (a / b).toFixed(2) + "x" : "-").padStart(10);
  console.log("");
  console.log("  %s %s %s %s %s %s", "".padEnd(17), "appl us/pkt", " testbed", " machine", "loss-free", "appl/ceil");
  for (const [name, r] of [["without Suricata", plain], ["IPS inline", ips]])
    console.log("  %s %s %s %s %s %s", name.padEnd(17), f(r.tgCpu), f(r.tgTestbedCpu), f(r.tgMachineCpu),
      String(r.tgNdr).padStart(10), x(r.tgCpu, r.refCpu));
  console.log("  %s %s %s %s %s", "IPS / without".padEnd(17), x(ips.tgCpu, plain.tgCpu), x(ips.tgTestbedCpu, plain.tgTestbedCpu),
    x(ips.tgMachineCpu, plain.tgMachineCpu), x(ips.tgNdr, plain.tgNdr));
  console.log("  normalised by each run'"'"'s reflect ceiling: CPU %s, loss-free rate %s; load average %s / %s",
    x(ips.tgCpu / ips.refCpu, plain.tgCpu / plain.refCpu).trim(), x(ips.tgNdr / ips.refNdr, plain.tgNdr / plain.refNdr).trim(),
    plain.load.toFixed(1), ips.load.toFixed(1));
' "$work/plain.json" "$work/ips.json"
