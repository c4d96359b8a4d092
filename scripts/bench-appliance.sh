#!/usr/bin/env bash
# npm run bench [-- --datapath user|kernel|all] — the appliance's data paths next to the C echo,
# all measured in one run. A benchmark: it prints figures and ratios, it asserts nothing but
# byte-exact replies.
#
# Testbed: two network namespaces joined by a veth pair (tgcb<pid>g / tgcb<pid>a, removed on exit).
#   GWLB side: testbed/bench/loadgen.c sends GWLB-style GENEVE (SIZE-byte inner IPv4/UDP packets)
#     from 10.251.0.1, pinned to CPU 0, and checks every reply byte for byte; for the two-sender
#     figures a second loadgen sends other flows from 10.251.0.3, pinned to CPU 1.
#   Appliance side (10.251.0.2), in turn:
#     reflect - testbed/bench/reflect.c, a recvmmsg/sendmmsg echo with no tun: the ceiling of any
#               user-space relay (64 MiB socket buffers, like tollgate);
#     user    - tollgate, TypeScript data path (`--datapath user` when the build has the option);
#     kernel  - tollgate `--datapath kernel` (eBPF), when the build has it;
#   both tollgates with a gwlbtun-style CREATE hook (tc u32 + mirred gwi-X -> gwo-X). With one
#   sender the appliance process is pinned to CPU 1; with two, nothing but the senders is pinned.
#   On veth a packet is received in softirq on the sending CPU: with the kernel path all of a
#   sender's traffic is handled on that sender's CPU.
# Figures, per data path:
#   CPU/pkt  whole-machine busy CPU time from /proc/stat (all cores: user+nice+system+irq+softirq+
#            steal) while one sender offers RATE pps for DUR s, minus the idle baseline (the same
#            reading over BASE_DUR s with nothing running, taken in this run), per reply; median of
#            REPS interleaved runs. The sender's own work is included. Next to it, the testbed's own
#            CPU (loadgen's rusage + the appliance process + ksoftirqd, tick-accounted, softirq
#            included), which other load on a shared machine does not disturb.
#   NDR      highest offered rate with < 0.1% loss, no corrupted reply and replies keeping pace
#            (binary search of TRIAL-second trials): FLOWS flows from one sender; then SCALE_FLOWS
#            flows from one sender and the same number split over two senders: scaling = two / one.
#   rtt      p50/p99 at RTT_RATE pps, one sender.
#   The load generator's own ceiling (its send rate into a sink, reflect -n) with one and two
#   senders: a data path whose NDR comes within 10% of it is limited by the emulator, said so.
#   Flow state: FLOW_STATE_FLOWS distinct flows (one packet each at FLOW_STATE_RATE pps): the user
#   path's daemon RSS growth per flow held (VmRSS, health's flow count); the kernel path's flow map
#   (bpftool: memlock / max_entries, an LRU hash preallocates every entry).
# The appliance's CPU is that of its whole process tree (its hooks, and Suricata when the rules
# file runs it).
#
# For other benches (scripts/bench-ids.sh): APPLIANCE_CMD replaces the user path's tollgate command
#   (and the default --datapath becomes user); APPLIANCE_LOADGEN_ARGS adds loadgen options while a
#   tollgate runs (e.g. `-H 1` when it routes the inner packets); BENCH_RESULT=file also writes
#   {refCpu, tgCpu, refNdr, tgNdr, tgTestbedCpu, tgMachineCpu, load} (appliance CPU-us per packet
#   and one-sender NDR of reflect and of the user path, the user path's testbed and whole-machine
#   CPU-us per packet) as JSON; WARMUP_TRIES (30): 1-second warm-up trials before each measurement
#   until one loses nothing (a Suricata loading its rules drops everything with failure: closed); SCALING=0 skips the two-sender figures.
#
# Environment: RATE (20000) DUR (10) REPS (3) TRIAL (5) LO (5000) HI (auto: 1.1 x the emulator's
#   ceiling) SIZE (512) FLOWS (64) SCALE_FLOWS (1024) RTT_RATE (1000) BASE_DUR (5)
#   DATAPATH (all; same as --datapath) SCALING (1) FLOW_STATE_FLOWS (1000000; 0 = skip)
#   FLOW_STATE_RATE (20000) TOLLGATE_ARGS (extra `tollgate run` options)
#   PERF=1 (perf profile of each tollgate at RATE)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
RATE=${RATE:-20000} DUR=${DUR:-10} REPS=${REPS:-3} TRIAL=${TRIAL:-5} LO=${LO:-5000} HI=${HI:-auto}
SIZE=${SIZE:-512} FLOWS=${FLOWS:-64} SCALE_FLOWS=${SCALE_FLOWS:-1024} RTT_RATE=${RTT_RATE:-1000}
BASE_DUR=${BASE_DUR:-5} SCALING=${SCALING:-1}
FLOW_STATE_FLOWS=${FLOW_STATE_FLOWS:-1000000} FLOW_STATE_RATE=${FLOW_STATE_RATE:-20000}
if [ -n "${APPLIANCE_CMD:-}" ]; then DATAPATH=${DATAPATH:-user}; else DATAPATH=${DATAPATH:-all}; fi
while [ $# -gt 0 ]; do
  case "$1" in
    --datapath) DATAPATH=${2:-}; shift 2 ;;
    --datapath=*) DATAPATH=${1#*=}; shift ;;
    *) echo "usage: npm run bench [-- --datapath user|kernel|all]" >&2; exit 2 ;;
  esac
done
case "$DATAPATH" in
  all) PATHS="user kernel" ;; user | kernel) PATHS=$DATAPATH ;;
  *) echo "bench: --datapath must be user, kernel or all, got '$DATAPATH'" >&2; exit 2 ;;
esac

die() { echo "bench: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (network namespaces, tun, raw sockets); run: sudo npm run bench"
for t in ip tc cc taskset node; do command -v "$t" >/dev/null || die "needs '$t'"; done
[ "$(nproc)" -ge 2 ] || die "needs 2 CPUs (one per sender)"
[ -f "$here/appliance/native/build/Release/tollgate_native.node" ] || die "native addon not built: npm run build"
[ -f "$here/testbed/dist/bench-report.js" ] || die "not built: npm run build"

work=$(mktemp -d /tmp/tollgate-bench.XXXXXX)
GW=tgcb$$g AP=tgcb$$a
APPL_PID=
cleanup() {
  [ -n "$APPL_PID" ] && kill "$APPL_PID" 2>/dev/null && sleep 0.5
  ip netns del "$GW" 2>/dev/null || true
  ip netns del "$AP" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

cc -O2 -o "$work/loadgen" "$here/testbed/bench/loadgen.c"
cc -O2 -o "$work/reflect" "$here/testbed/bench/reflect.c"
cat >"$work/hook-mirred.sh" <<'EOF'
#!/bin/sh
# gwlbtun-style CREATE hook: pass gwi-X straight to gwo-X
[ "$1" = CREATE ] || exit 0
tc qdisc add dev "$2" ingress
exec tc filter add dev "$2" parent ffff: protocol all prio 2 u32 match u32 0 0 action mirred egress redirect dev "$3"
EOF
chmod +x "$work/hook-mirred.sh"

ip netns add "$GW"; ip netns add "$AP"
ip -n "$GW" link set lo up; ip -n "$AP" link set lo up
ip -n "$GW" link add gw0 type veth peer name ap0 netns "$AP"
ip -n "$GW" addr add 10.251.0.1/24 dev gw0; ip -n "$GW" addr add 10.251.0.3/24 dev gw0
ip -n "$AP" addr add 10.251.0.2/24 dev ap0
ip -n "$GW" link set gw0 up; ip -n "$AP" link set ap0 up

results="$work/results.jsonl"
record() { echo "$1" >>"$results"; }
json() { node -e 'const r=JSON.parse(process.argv[1]);console.log(r[process.argv[2]])' "$1" "$2"; }

TOLLGATE="node $here/appliance/bin/tollgate.js run -c $work/hook-mirred.sh -p 18081 ${TOLLGATE_ARGS:-}"
has_datapath_option=0
node "$here/appliance/bin/tollgate.js" run --help 2>/dev/null | grep -q -- '--datapath' && has_datapath_option=1
appliance_cmd() { # PATH -> the command, or empty when this build cannot run it
  case "$1" in
    reflect) echo "$work/reflect -B 67108864" ;;
    sink) echo "$work/reflect -B 67108864 -n" ;;
    user)
      if [ -n "${APPLIANCE_CMD:-}" ]; then echo "$APPLIANCE_CMD"
      elif [ $has_datapath_option = 1 ]; then echo "$TOLLGATE --datapath user"
      else echo "$TOLLGATE"; fi ;;
    kernel) [ $has_datapath_option = 1 ] && echo "$TOLLGATE --datapath kernel" ;;
  esac
}

GEN_EXTRA=
start_appl() { # PIN CMD... ; PIN: a CPU list or "any"; sets APPL_PID, and GEN_EXTRA for a tollgate
  local pin=$1; shift
  case "$1" in "$work"/*) GEN_EXTRA= ;; *) GEN_EXTRA=${APPLIANCE_LOADGEN_ARGS:-} ;; esac
  if [ "$pin" = any ]; then
    ip netns exec "$AP" "$@" >"$work/appl.log" 2>&1 &
  else
    ip netns exec "$AP" taskset -c "$pin" "$@" >"$work/appl.log" 2>&1 &
  fi
  APPL_PID=$!
  sleep 1.5
  kill -0 "$APPL_PID" 2>/dev/null || { APPL_PID=; return 1; }
}
stop_appl() { kill "$APPL_PID" 2>/dev/null; wait "$APPL_PID" 2>/dev/null || true; APPL_PID=; }
warm_up() { # SENDERS FLOWS: endpoints, hooks and rules in place: until a 1 s trial loses nothing
  local i
  for i in $(seq 1 "${WARMUP_TRIES:-30}"); do
    [ "$(json "$(gen "$1" "$2" 1000 1)" loss_pct)" = 0 ] && return 0
  done
  echo "bench: the appliance still loses packets after $i warm-up seconds" >&2
  return 1
}

# gen SENDERS FLOWS RATE SECONDS [loadgen args] -> one JSON summary (two senders: merged)
gen() {
  local senders=$1 flows=$2 rate=$3 secs=$4; shift 4
  # shellcheck disable=SC2086
  set -- $GEN_EXTRA "$@"
  if [ "$senders" = 1 ]; then
    ip netns exec "$GW" taskset -c 0 "$work/loadgen" -d 10.251.0.2 -l 10.251.0.1 -s "$SIZE" \
      -f "$flows" -r "$rate" -t "$secs" -w 0 "$@" || true
    return
  fi
  local half=$((flows / 2)) r2
  r2=$(node -e 'console.log(process.argv[1] / 2)' "$rate")
  ip netns exec "$GW" taskset -c 0 "$work/loadgen" -d 10.251.0.2 -l 10.251.0.1 -s "$SIZE" \
    -f "$half" -r "$r2" -t "$secs" -w 0 "$@" >"$work/gen0" || true &
  local p0=$!
  ip netns exec "$GW" taskset -c 1 "$work/loadgen" -d 10.251.0.2 -l 10.251.0.3 -o 100000 -s "$SIZE" \
    -f "$half" -r "$r2" -t "$secs" -w 0 "$@" >"$work/gen1" || true
  wait "$p0" || true
  node -e '
    const [a, b] = process.argv.slice(1).map((f) => JSON.parse(require("fs").readFileSync(f, "utf8")));
    const sum = (k) => a[k] + b[k];
    const tx = sum("tx"), rx = sum("rx");
    console.log(JSON.stringify({ ...a, flows: sum("flows"), rate: sum("rate"), tx, rx, ok: sum("ok"), bad: sum("bad"),
      dup: sum("dup"), foreign: sum("foreign"), loss_pct: tx ? (100 * (tx - rx)) / tx : 0,
      rx_pps: sum("rx_pps"), cpu_s: sum("cpu_s") }));' "$work/gen0" "$work/gen1"
}

busy() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9; exit}' /proc/stat; }
ticks_of() { awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
tree_pids() { # PID: it and its descendants (the daemon's children: hooks, Suricata)
  local c
  echo "$1"
  for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do tree_pids "$c"; done
}
tree_ticks() { local p t=0; for p in $(tree_pids "$1"); do t=$((t + $(ticks_of "$p"))); done; echo $t; }
ksoftirqd_ticks() { local t=0 p; for p in $(pgrep -x 'ksoftirqd/[0-9]+'); do t=$((t + $(ticks_of "$p"))); done; echo $t; }
now_ns() { date +%s%N; }
HZ=$(getconf CLK_TCK)

# The idle baseline: what the machine (and everything else on it) burns with the testbed idle.
b0=$(busy); t0=$(now_ns); sleep "$BASE_DUR"; b1=$(busy); t1=$(now_ns)
record "{\"kind\":\"baseline\",\"busyCpus\":$(node -e 'console.log((process.argv[1] / process.argv[3]) / ((process.argv[2]) / 1e9))' $((b1 - b0)) $((t1 - t0)) "$HZ"),\"seconds\":$BASE_DUR}"
echo "bench: ${SIZE}-byte inner packets; $(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg); idle baseline $(tail -1 "$results")"

cpu_run() { # PATH CMD... -> records one cpu result
  local path=$1; shift
  start_appl 1 "$@" || { echo "  $path did not start: $(tail -3 "$work/appl.log")" >&2; return 1; }
  warm_up 1 "$FLOWS"
  local a0 k0 s0 t0 r a1 k1 s1 t1
  a0=$(tree_ticks "$APPL_PID"); k0=$(ksoftirqd_ticks); s0=$(busy); t0=$(now_ns)
  r=$(gen 1 "$FLOWS" "$RATE" "$DUR")
  s1=$(busy); t1=$(now_ns); a1=$(tree_ticks "$APPL_PID"); k1=$(ksoftirqd_ticks)
  [ "$path" = kernel ] && kernel_check
  stop_appl
  record "$(node -e '
    const r = JSON.parse(process.argv[1]);
    const [path, hz, busy, ns, appl, ksoft] = process.argv.slice(2);
    const base = JSON.parse(require("fs").readFileSync(process.argv[8], "utf8").split("\n")[0]).busyCpus;
    const rx = Math.max(r.rx, 1);
    const machine = busy / hz - base * (ns / 1e9);
    const testbed = r.cpu_s + (Number(appl) + Number(ksoft)) / hz;
    console.log(JSON.stringify({ kind: "cpu", path, rate: r.rate, rx: r.rx, loss: r.loss_pct, bad: r.bad,
      machineUs: (machine * 1e6) / rx, testbedUs: (testbed * 1e6) / rx, senderUs: (r.cpu_s * 1e6) / rx,
      applianceUs: ((appl / hz) * 1e6) / rx, load: require("os").loadavg()[0] }));' \
    "$r" "$path" "$HZ" $((s1 - s0)) $((t1 - t0)) $((a1 - a0)) $((k1 - k0)) "$results")"
  tail -1 "$results"
}

kernel_check() { # the kernel path really handled the packets: its per-endpoint counters in health
  record "{\"kind\":\"kernelCheck\",\"toGwi\":$(health_field 'j.endpoints.reduce((s, e) => s + (e.kernelPackets?.toGwi ?? 0), 0)')}"
}

health_field() { # JS expression on the health JSON `j` -> its value (-1 when unreachable)
  ip netns exec "$AP" node -e '
    require("http").get("http://10.251.0.2:18081/?format=json", (res) => { let b = ""; res.on("data", (c) => (b += c));
      res.on("end", () => { const j = JSON.parse(b); console.log(eval(process.argv[1])); }); }).on("error", () => console.log(-1));' \
    "$1" 2>/dev/null || echo -1
}

flow_state_run() { # PATH CMD... -> records the flow state's memory with FLOW_STATE_FLOWS flows
  local path=$1; shift
  start_appl 1 "$@" || return 1
  gen 1 64 1000 1 >/dev/null
  local rss0 rss1 held map mapid secs
  rss0=$(awk '/^VmRSS/{print $2}' "/proc/$APPL_PID/status")
  secs=$(node -e 'console.log((process.argv[1] / process.argv[2]).toFixed(1))' "$FLOW_STATE_FLOWS" "$FLOW_STATE_RATE")
  gen 1 "$FLOW_STATE_FLOWS" "$FLOW_STATE_RATE" "$secs" >"$work/flowstate.json"
  rss1=$(awk '/^VmRSS/{print $2}' "/proc/$APPL_PID/status")
  held=$(health_field 'j.datapath.flows')
  # the benched daemon's own tg_flows (its map id in health), not another daemon's map of that name
  mapid=$(health_field 'j.datapath.kernel?.flows?.mapId ?? -1')
  map=$( ([ "$mapid" -ge 0 ] 2>/dev/null && bpftool map show id "$mapid" 2>/dev/null || true) | tr '\n' ' ' | sed -n 's/.*max_entries \([0-9]*\).*memlock \([0-9]*\)B.*/{"maxEntries":\1,"memlock":\2}/p')
  stop_appl
  record "{\"kind\":\"flowState\",\"path\":\"$path\",\"sent\":$FLOW_STATE_FLOWS,\"replies\":$(json "$(cat "$work/flowstate.json")" rx),\"held\":$held,\"rssBeforeKb\":$rss0,\"rssAfterKb\":$rss1,\"map\":${map:-null}}"
  echo "  flow state, $path: $(tail -1 "$results")"
}

ndr_run() { # PATH SENDERS FLOWS CMD... -> records the highest loss-free rate
  local path=$1 senders=$2 flows=$3; shift 3
  local pin=1
  [ "$senders" = 2 ] && pin=any
  start_appl "$pin" "$@" || { echo "  $path did not start: $(tail -3 "$work/appl.log")" >&2; return 1; }
  warm_up "$senders" "$flows"
  local lo=$LO hi=$HI mid r verdict short=0
  [ "$hi" = auto ] && hi=$(node -e 'console.log(Math.round(process.argv[1] * 1.1))' "$(ceiling_of "$senders")")
  while [ $((hi - lo)) -gt $((hi / 50)) ]; do
    mid=$(((lo + hi) / 2))
    r=$(gen "$senders" "$flows" "$mid" "$TRIAL")
    # pass: < 0.1% loss, no corrupted reply, the rate really offered, and replies keeping pace
    # (with 64 MiB socket buffers a slow appliance can lose nothing and still fall behind)
    verdict=$(node -e '
      const r = JSON.parse(process.argv[1]);
      const offered = r.tx / r.dur;
      console.log(offered <= 0.95 * r.rate ? "short" : r.loss_pct < 0.1 && r.bad === 0 && r.rx_pps > 0.97 * offered ? "pass" : "fail");' "$r")
    echo "  $path, $senders sender(s), $flows flows: trial $mid pps: $verdict ($(json "$r" loss_pct)% loss, rx $(json "$r" rx_pps) pps, bad $(json "$r" bad))" >&2
    [ "$verdict" = short ] && short=1
    if [ "$verdict" = pass ]; then lo=$mid; else hi=$mid; fi
  done
  stop_appl
  record "{\"kind\":\"ndr\",\"path\":\"$path\",\"senders\":$senders,\"flows\":$flows,\"pps\":$lo,\"emulatorShort\":$short,\"load\":$(cut -d' ' -f1 /proc/loadavg)}"
}

ceiling_of() { node -e '
  const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => JSON.parse(l));
  console.log(rows.find((r) => r.kind === "ceiling" && r.senders === Number(process.argv[2])).pps);' "$results" "$1"; }

rtt_run() { # PATH CMD...
  local path=$1; shift
  start_appl 1 "$@" || return 1
  warm_up 1 "$FLOWS"
  local r
  r=$(gen 1 "$FLOWS" "$RTT_RATE" 3 -b 1)
  stop_appl
  record "{\"kind\":\"rtt\",\"path\":\"$path\",\"rate\":$RTT_RATE,\"p50\":$(json "$r" rtt_p50_us),\"p99\":$(json "$r" rtt_p99_us),\"loss\":$(json "$r" loss_pct)}"
}

# The emulator's own ceiling: its send rate, unpaced, into a sink, with one and two senders.
for senders in 1 2; do
  # shellcheck disable=SC2046
  start_appl 1 $(appliance_cmd sink) || die "sink did not start"
  r=$(gen "$senders" "$SCALE_FLOWS" 0 "$TRIAL")
  stop_appl
  record "{\"kind\":\"ceiling\",\"senders\":$senders,\"pps\":$(node -e 'const r=JSON.parse(process.argv[1]);console.log(Math.round(r.tx/r.dur))' "$r")}"
  echo "  emulator ceiling, $senders sender(s): $(tail -1 "$results")"
done

available=reflect
for p in $PATHS; do
  if [ -z "$(appliance_cmd "$p")" ]; then
    record "{\"kind\":\"missing\",\"path\":\"$p\",\"why\":\"this build's tollgate has no --datapath option\"}"
    echo "bench: $p path: this build's tollgate has no --datapath option; skipped" >&2
    continue
  fi
  # shellcheck disable=SC2046
  if ! start_appl 1 $(appliance_cmd "$p"); then
    why=$(tail -2 "$work/appl.log" | tr '"\n' "' ")
    record "{\"kind\":\"missing\",\"path\":\"$p\",\"why\":\"tollgate did not start: $why\"}"
    echo "bench: $p path did not start: $why" >&2
    continue
  fi
  stop_appl
  available="$available $p"
done
echo "bench: data paths: $available; tollgate = $TOLLGATE"

for rep in $(seq 1 "$REPS"); do
  for p in $available; do
    # shellcheck disable=SC2046
    echo "  rep $rep $p: $(cpu_run "$p" $(appliance_cmd "$p"))"
  done
done
for p in $available; do
  # shellcheck disable=SC2046
  rtt_run "$p" $(appliance_cmd "$p")
  # shellcheck disable=SC2046
  ndr_run "$p" 1 "$FLOWS" $(appliance_cmd "$p")
  [ "$SCALING" = 1 ] || continue
  # shellcheck disable=SC2046
  ndr_run "$p" 1 "$SCALE_FLOWS" $(appliance_cmd "$p")
  # shellcheck disable=SC2046
  ndr_run "$p" 2 "$SCALE_FLOWS" $(appliance_cmd "$p")
done
if [ "$FLOW_STATE_FLOWS" -gt 0 ]; then
  for p in $available; do
    # shellcheck disable=SC2046
    [ "$p" = reflect ] || flow_state_run "$p" $(appliance_cmd "$p")
  done
fi

if [ "${PERF:-0}" = 1 ] && command -v perf >/dev/null; then
  for p in $available; do
    [ "$p" = reflect ] && continue
    # shellcheck disable=SC2046
    start_appl 1 $(appliance_cmd "$p")
    warm_up 1 "$FLOWS"
    gen 1 "$FLOWS" "$RATE" 6 >/dev/null &
    genpid=$!
    sleep 1
    perf record -q -a -g -o "$work/perf.data" -- sleep 4 >/dev/null 2>&1 || true
    wait "$genpid" || true
    stop_appl
    echo "where the time goes (perf, whole machine, $p at $RATE pps):"
    perf report -i "$work/perf.data" --no-children --sort comm,dso -g none 2>/dev/null | grep '%' | head -8 | sed 's/^/  /'
  done
fi

node "$here/testbed/dist/bench-report.js" "$results" ${BENCH_RESULT:+"$BENCH_RESULT"}
