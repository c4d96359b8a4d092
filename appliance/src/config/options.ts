/**
 * Command-line options of `tollgate run`, compatible with the reference tunnel handler (gwlbtun)
 * where they overlap: -c -r -t -i -p -j -s -d, --udpthreads --udpaffinity --tunthreads
 * --tunaffinity --logging and their long forms (--cmdnew --cmddel --timeout --idle --port --json
 * --debug). Values stay strings here; resolve.ts validates them with clear messages.
 */
import { Command, Option } from "commander";

/** Raw option values as commander hands them over (only those given on the command line). */
export interface CliOptions {
  cmdnew?: string;
  cmddel?: string;
  timeout?: string;
  idle?: string;
  port?: string;
  json?: boolean;
  simple?: boolean;
  debug?: boolean;
  udpthreads?: string;
  udpaffinity?: string;
  tunthreads?: string;
  tunaffinity?: string;
  logging?: string;
  config?: string;
  rules?: string;
  externalForwarding?: boolean;
  gwlbCidr?: string[];
  logLevel?: string;
  listen?: string;
  genevePort?: string;
  flowTimeoutTcp?: string;
  flowTimeoutUdp?: string;
  flowTimeoutOther?: string;
  maxFlows?: string;
  maxEndpoints?: string;
  mtu?: string;
  batchSize?: string;
  rxCoalesceUs?: string;
  socketBuffer?: string;
  hookTimeout?: string;
  holdTimeout?: string;
  holdPackets?: string;
  holdBytes?: string;
  healthAddress?: string;
  healthWindow?: string;
  healthGrace?: string;
  healthVerifyInterval?: string;
  canaryInterval?: string;
  canaryFailures?: string;
  rpFilter?: boolean;
  rpFilterGlobal?: boolean;
  rpFilterInterval?: string;
}

/** Adds every `run` option to a command. */
export function addRunOptions(cmd: Command): Command {
  const o = (flags: string, description: string) => cmd.addOption(new Option(flags, description));
  cmd.optionsGroup("Reference-compatible options (gwlbtun):");
  o(
    "-c, --cmdnew <command>",
    "CREATE hook, run as `<command> CREATE gwi-X gwo-X <endpoint id, 17 hex digits>` when an endpoint's interfaces are up. Split into argv like a shell would (quotes, backslashes) but run without a shell: no $VAR, globs, pipes or redirections",
  );
  o(
    "-r, --cmddel <command>",
    "DESTROY hook, run as `<command> DESTROY gwi-X gwo-X <id>` before an endpoint's interfaces are removed",
  );
  o(
    "-t, --timeout <seconds>",
    "remove an endpoint's interfaces after this long without packets; 0 = never (default: 0)",
  );
  o(
    "-i, --idle <seconds>",
    "TCP flow idle timeout; match the listener's tcpIdleTimeoutSeconds (default: 350)",
  );
  o(
    "-p, --port <port>",
    "serve health (GET /) and Prometheus metrics (GET /metrics) over HTTP on this TCP port",
  );
  o("-j, --json", "health detail as JSON by default (?format=text still gives text)");
  o("-s, --simple", "health answers with the status code only, no body");
  o("-d, --debug", "debug logging (same as --log-level debug)");
  o(
    "--udpthreads <n>",
    "accepted for compatibility; the data path is one thread with batched syscalls",
  );
  o("--udpaffinity <cpus>", "accepted for compatibility (e.g. 0-1,3); validated, not applied");
  o("--tunthreads <n>", "accepted for compatibility");
  o("--tunaffinity <cpus>", "accepted for compatibility (e.g. 0-1,3); validated, not applied");
  o(
    "--logging <config>",
    "reference logging config (e.g. all=debug): the most verbose level named is used",
  );
  cmd.optionsGroup("Tollgate options:");
  o(
    "--config <file>",
    "YAML configuration file (keys documented in the README); command-line options override it",
  );
  o(
    "--rules <file>",
    "rules file applied to every endpoint (see `tollgate rules --help`; examples/rules/default.yaml inspects and allows everything)",
  );
  o(
    "--external-forwarding",
    "forwarding gwi-X -> gwo-X is set up outside the daemon: start without --rules and -c (otherwise refused)",
  );
  cmd.addOption(
    new Option(
      "--gwlb-cidr <cidr>",
      "accept GENEVE only from this IPv4 CIDR (the GWLB's subnets); repeatable; default: any source (warned)",
    ).argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]),
  );
  o("--log-level <level>", "trace, debug, info, warn, error, fatal or silent (default: info)");
  o("--listen <address>", "IPv4 address to receive GENEVE on (default: 0.0.0.0)");
  o("--geneve-port <port>", "UDP port to receive GENEVE on (default: 6081)");
  o("--flow-timeout-tcp <seconds>", "TCP flow idle timeout, same as -i (default: 350)");
  o("--flow-timeout-udp <seconds>", "UDP flow idle timeout (default: 120)");
  o("--flow-timeout-other <seconds>", "idle timeout of other protocols, e.g. ICMP (default: 120)");
  o("--max-flows <n>", "flow table bound; least recently used flows are evicted (default: 262144)");
  o("--max-endpoints <n>", "most GWLB endpoints (tun pairs) at once (default: 4096)");
  o("--mtu <bytes>", "MTU of gwi-/gwo- interfaces (default: 8500, GWLB's maximum)");
  o("--batch-size <n>", "datagrams per recvmmsg / packets per tun drain (default: 64)");
  o(
    "--rx-coalesce-us <us>",
    "under load, wait this long after a wake-up to receive more datagrams at once; 0 = off (default: 100)",
  );
  o("--socket-buffer <bytes>", "SO_RCVBUF/SO_SNDBUF of the GENEVE sockets (default: 67108864)");
  o("--hook-timeout <seconds>", "kill a hook still running after this long (default: 30)");
  o(
    "--hold-timeout <seconds>",
    "hold a new endpoint's packets until its CREATE hook and rules finished, at most this long; 0 = no hold (default: 3)",
  );
  o(
    "--hold-packets <n>",
    "most packets held per new endpoint; newer ones are dropped (default: 256)",
  );
  o("--hold-bytes <bytes>", "most bytes held per new endpoint (default: 1048576)");
  o("--health-address <address>", "address the health server listens on (default: ::, all)");
  o("--health-window <seconds>", "traffic window the health verdict looks at (default: 10)");
  o(
    "--health-grace <seconds>",
    "time a new endpoint gets to set up forwarding and pass its first canary (default: 10)",
  );
  o(
    "--health-verify-interval <seconds>",
    "period of the rule engine check (tools, rules file, applied state) (default: 5)",
  );
  o(
    "--canary-interval <seconds>",
    "period of the health canary sent through each endpoint gwi-X -> gwo-X (default: 1)",
  );
  o(
    "--canary-failures <n>",
    "canaries lost in a row that make an endpoint (and health) fail (default: 3)",
  );
  o("--no-rp-filter", "do not touch rp_filter (then the hooks must disable it)");
  o("--no-rp-filter-global", "leave net.ipv4.conf.all/default.rp_filter alone (interfaces only)");
  o(
    "--rp-filter-interval <seconds>",
    "how often rp_filter is re-checked and re-asserted; 0 = only at creation (default: 5)",
  );
  return cmd;
}

/** The options explicitly given (command line or environment), not commander's defaults. */
export function givenOptions(cmd: Command): CliOptions {
  const all = cmd.opts<Record<string, unknown>>();
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(all)) {
    const src = cmd.getOptionValueSource(k);
    if (src !== undefined && src !== "default" && v !== undefined) out[k] = v;
  }
  return out as CliOptions;
}
