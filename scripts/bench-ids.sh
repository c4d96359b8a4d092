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
# between the two runs). CPU is the appliance's process tree (tollgate and its Suricata); both are
# pinned to one CPU, the load generator to the other.
#
# Environment: SIGNATURES (3000) DOMAINS (200), and bench-appliance.sh's (RATE DUR REPS TRIAL LO
# HI SIZE FLOWS ...). The inner packets are routed by the kernel (TTL one lower): loadgen -H 1.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
SIGNATURES=${SIGNATURES:-3000} DOMAINS=${DOMAINS:-200}

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
  const row = (name, r) => console.log("  %s %s   %s   %s   %s", name.padEnd(18),
    r.tgCpu.toFixed(2).padStart(10), String(r.tgNdr).padStart(9),
    (r.tgCpu / r.refCpu).toFixed(2).padStart(9), (r.tgNdr / r.refNdr).toFixed(2).padStart(9));
  console.log("");
  console.log("  %s %s   %s   %s   %s", "".padEnd(18), "CPU-us/pkt", "loss-free", "CPU/ceil", "rate/ceil");
  row("without Suricata", plain);
  row("IPS inline", ips);
  console.log("  IPS / without:     CPU per packet %sx (%sx normalised), loss-free rate %sx (%sx normalised)",
    (ips.tgCpu / plain.tgCpu).toFixed(2), ((ips.tgCpu / ips.refCpu) / (plain.tgCpu / plain.refCpu)).toFixed(2),
    (ips.tgNdr / plain.tgNdr).toFixed(2), ((ips.tgNdr / ips.refNdr) / (plain.tgNdr / plain.refNdr)).toFixed(2));
' "$work/plain.json" "$work/ips.json"
