/**
 * An in-memory stand-in for iptables(-save/-restore), ipset, ip, tc and sysctl, behind the
 * engine's CommandRunner interface, so plan/apply/rollback logic is tested without root.
 * iptables-restore is transactional (all or nothing), like the real nf_tables backend.
 */
import type { CommandResult, CommandRunner } from "@tollgate/appliance";

type Tables = Map<string, Map<string, string[]>>;

const BUILTIN: Record<string, string[]> = {
  raw: ["PREROUTING", "OUTPUT"],
  mangle: ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
  nat: ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
  filter: ["INPUT", "FORWARD", "OUTPUT"],
};

function emptyTables(): Tables {
  const t: Tables = new Map();
  for (const [name, chains] of Object.entries(BUILTIN))
    t.set(name, new Map(chains.map((c) => [c, []])));
  return t;
}

function clone(t: Tables): Tables {
  return new Map([...t].map(([k, v]) => [k, new Map([...v].map(([c, r]) => [c, [...r]]))]));
}

const ok = (stdout = ""): CommandResult => ({ code: 0, stdout, stderr: "" });
const fail = (stderr: string, code = 1): CommandResult => ({ code, stdout: "", stderr });

interface IpRule {
  fam: string;
  pref: number;
  iif?: string;
  src?: string;
  fwmark?: string;
  table: string;
}
interface IpRoute {
  fam: string;
  type: string;
  dst: string;
  dev: string;
  table: string;
}

export class FakeKernel implements CommandRunner {
  ipt: Record<string, Tables> = { "4": emptyTables(), "6": emptyTables() };
  sets = new Map<string, { create: string; entries: string[] }>();
  links: string[] = ["lo", "eth0"];
  qdiscs = new Set<string>();
  filters: { dev: string; pref: number; cookie?: string; argv: string[] }[] = [];
  rules: IpRule[] = [];
  routes: IpRoute[] = [];
  addrs: { dev: string; family: string; local: string; prefixlen: number }[] = [];
  sysctls = new Map<string, string>([["net.ipv4.ip_forward", "0"]]);
  log: string[] = [];
  /** Fails the first matching command (then clears itself, so rollback can run). */
  failOn?: (argv: readonly string[]) => boolean;

  async run(argv: readonly string[], options?: { input?: string }): Promise<CommandResult> {
    this.log.push(argv.join(" "));
    if (this.failOn?.(argv)) {
      this.failOn = undefined;
      return fail("injected failure", 2);
    }
    const [cmd, ...rest] = argv;
    switch (cmd) {
      case "iptables-save":
        return ok(this.save("4"));
      case "ip6tables-save":
        return ok(this.save("6"));
      case "iptables-restore":
        return this.restore("4", options?.input ?? "", rest.includes("--test"));
      case "ip6tables-restore":
        return this.restore("6", options?.input ?? "", rest.includes("--test"));
      case "ipset":
        return this.ipset(rest, options?.input ?? "");
      case "ip":
        return this.ip(rest);
      case "tc":
        return this.tc(rest);
      case "sysctl":
        return this.sysctl(rest);
      default:
        return fail(`${String(cmd)}: not found`, 127);
    }
  }

  save(fam: string): string {
    const out: string[] = [];
    for (const [table, chains] of this.ipt[fam]!) {
      out.push(`*${table}`);
      for (const c of chains.keys())
        out.push(BUILTIN[table]!.includes(c) ? `:${c} ACCEPT [0:0]` : `:${c} - [0:0]`);
      for (const [c, rules] of chains) for (const r of rules) out.push(`-A ${c} ${r}`);
      out.push("COMMIT");
    }
    return `${out.join("\n")}\n`;
  }

  /** `test`: parse and check only, commit nothing (iptables-restore --test). */
  private restore(fam: string, input: string, test = false): CommandResult {
    const next = clone(this.ipt[fam]!);
    let chains: Map<string, string[]> | undefined;
    const lines = input.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      const err = (m: string) => fail(`${m}\nError occurred at line: ${i + 1}`, 2);
      if (line === "" || line.startsWith("#") || line === "COMMIT") continue;
      if (line.startsWith("*")) {
        chains = next.get(line.slice(1));
        if (!chains) return err(`unknown table ${line}`);
        continue;
      }
      if (!chains) return err("no table");
      const [op, chain, ...r] = line.split(" ");
      const rule = r.join(" ");
      if (op!.startsWith(":")) {
        chains.set(op!.slice(1), []);
      } else if (op === "-F") {
        if (!chains.has(chain!)) return err(`no chain ${chain!}`);
        chains.set(chain!, []);
      } else if (op === "-X") {
        if (!chains.has(chain!)) return err(`no chain ${chain!}`);
        for (const rules of chains.values())
          if (rules.some((x) => x.endsWith(`-j ${chain!}`))) return err(`chain ${chain!} in use`);
        chains.delete(chain!);
      } else if (op === "-A" || op === "-I" || op === "-D") {
        const target = chains.get(chain!);
        if (!target) return err(`no chain ${chain!}`);
        const body = op === "-I" ? r.slice(1).join(" ") : rule;
        const jump = /-j (\S+)/.exec(body)?.[1];
        if (jump?.startsWith("TOLLGATE-") && !chains.has(jump)) return err(`no chain ${jump}`);
        if (op === "-A") target.push(body);
        else if (op === "-I") target.splice(Number(r[0]) - 1, 0, body);
        else {
          const idx = target.indexOf(body);
          if (idx < 0) return err("Bad rule (does a matching rule exist in that chain?)");
          target.splice(idx, 1);
        }
      } else {
        return err(`bad line ${line}`);
      }
    }
    if (!test) this.ipt[fam] = next;
    return ok();
  }

  private ipset(args: string[], input: string): CommandResult {
    const [sub, name] = args;
    if (sub === "list" && name === "-n")
      return ok([...this.sets.keys()].map((n) => `${n}\n`).join(""));
    if (sub === "save") {
      const s = this.sets.get(name!);
      if (!s) return fail(`The set with the given name does not exist`);
      return ok(`${s.create}\n${s.entries.map((e) => `add ${name!} ${e}\n`).join("")}`);
    }
    if (sub === "destroy") {
      if (!this.sets.delete(name!)) return fail("no such set");
      return ok();
    }
    if (sub === "restore") {
      for (const line of input.split("\n")) {
        const [op, n, ...r] = line.split(" ");
        if (!op) continue;
        if (op === "create") {
          if (!this.sets.has(n!))
            this.sets.set(n!, {
              create: `create ${n!} ${r.filter((x) => x !== "-exist").join(" ")}`,
              entries: [],
            });
          else if (!r.includes("-exist")) return fail("set already exists");
        } else if (op === "flush") this.sets.get(n!)!.entries = [];
        else if (op === "add") this.sets.get(n!)!.entries.push(r.join(" "));
        else if (op === "swap") {
          const a = this.sets.get(n!);
          const b = this.sets.get(r[0]!);
          if (!a || !b) return fail("swap: no such set");
          [a.entries, b.entries] = [b.entries, a.entries];
        } else if (op === "destroy") this.sets.delete(n!);
      }
      return ok();
    }
    return fail(`ipset ${args.join(" ")}: unsupported`);
  }

  private ip(args: string[]): CommandResult {
    let fam = "4";
    let a = args;
    if (a[0] === "-4" || a[0] === "-6") {
      fam = a[0].slice(1);
      a = a.slice(1);
    }
    const json = a[0] === "-j";
    if (json) a = a.slice(1);
    if (a[0] === "link") return ok(JSON.stringify(this.links.map((ifname) => ({ ifname }))));
    if (a[0] === "addr") {
      if (a[1] === "show") {
        return ok(
          JSON.stringify(
            this.links.map((ifname) => ({
              ifname,
              addr_info: this.addrs.filter((x) => x.dev === ifname),
            })),
          ),
        );
      }
      const [local, len] = a[2]!.split("/") as [string, string];
      const dev = a[a.indexOf("dev") + 1]!;
      if (!this.links.includes(dev)) return fail("Cannot find device", 1);
      this.addrs = this.addrs.filter((x) => !(x.dev === dev && x.local === local));
      if (a[1] === "replace") {
        this.addrs.push({
          dev,
          family: fam === "4" ? "inet" : "inet6",
          local,
          prefixlen: Number(len),
        });
      }
      return ok();
    }
    if (a[0] === "rule") {
      if (a[1] === "show") {
        return ok(
          JSON.stringify(
            this.rules
              .filter((r) => r.fam === fam)
              .map((r) => {
                const [mark, mask] = (r.fwmark ?? "").split("/");
                const [src, srclen] = (r.src ?? "all").split("/");
                return {
                  priority: r.pref,
                  src,
                  ...(srclen && srclen !== "32" ? { srclen: Number(srclen) } : {}),
                  iif: r.iif,
                  fwmark: mark || undefined,
                  fwmask: mask,
                  table: r.table,
                  protocol: "116",
                };
              }),
          ),
        );
      }
      const opt = (k: string) => (a.includes(k) ? a[a.indexOf(k) + 1] : undefined);
      const rule: IpRule = {
        fam,
        pref: Number(opt("pref")),
        iif: opt("iif"),
        src: opt("from"),
        fwmark: opt("fwmark"),
        table: opt("lookup")!,
      };
      const same = (r: IpRule) => JSON.stringify(r) === JSON.stringify(rule);
      if (a[1] === "add") this.rules.push(rule);
      else if (a[1] === "del") {
        const i = this.rules.findIndex(same);
        if (i < 0) return fail("RTNETLINK answers: No such file or directory", 2);
        this.rules.splice(i, 1);
      }
      return ok();
    }
    if (a[0] === "route") {
      if (a[1] === "show")
        return ok(
          JSON.stringify(
            this.routes
              .filter((r) => r.fam === fam)
              .map((r) => ({
                type: r.type === "unicast" ? undefined : r.type,
                dst: r.dst,
                dev: r.dev,
                table: r.table,
              })),
          ),
        );
      const rest = a.slice(2);
      let type = "unicast";
      if (rest[0] === "local" || rest[0] === "unicast") type = rest.shift()!;
      const dst0 = rest[0]!;
      const dst = dst0 === "0.0.0.0/0" || dst0 === "::/0" ? "default" : dst0;
      const dev = rest[rest.indexOf("dev") + 1]!;
      const table = rest[rest.indexOf("table") + 1]!;
      if (!this.links.includes(dev)) return fail("Cannot find device", 2);
      const route: IpRoute = { fam, type, dst, dev, table };
      this.routes = this.routes.filter(
        (r) => !(r.fam === fam && r.dst === dst && r.table === table && r.type === type),
      );
      if (a[1] === "replace") this.routes.push(route);
      return ok();
    }
    return fail(`ip ${args.join(" ")}: unsupported`);
  }

  private tc(args: string[]): CommandResult {
    const a = args[0] === "-j" ? args.slice(1) : args;
    const dev = a[a.indexOf("dev") + 1]!;
    if (!this.links.includes(dev)) return fail(`Cannot find device "${dev}"`, 1);
    if (a[0] === "qdisc" && a[1] === "show")
      return ok(this.qdiscs.has(dev) ? '[{"kind":"ingress"}]' : "[]");
    if (a[0] === "qdisc" && a[1] === "add") {
      if (this.qdiscs.has(dev)) return fail("Exclusivity flag on, cannot modify", 2);
      this.qdiscs.add(dev);
      return ok();
    }
    if (a[0] === "filter" && a[1] === "show") {
      return ok(
        JSON.stringify(
          this.filters
            .filter((f) => f.dev === dev)
            .map((f) => ({
              pref: f.pref,
              protocol: "all",
              options: { actions: [{ cookie: f.cookie }] },
            })),
        ),
      );
    }
    const pref = Number(a[a.indexOf("pref") + 1]);
    if (a[0] === "filter" && a[1] === "add") {
      if (!this.qdiscs.has(dev)) return fail("Error: Parent Qdisc doesn't exists.", 2);
      const to = a[a.lastIndexOf("dev") + 1]!;
      if (!this.links.includes(to)) return fail(`Cannot find device "${to}"`, 1);
      this.filters.push({
        dev,
        pref,
        cookie: a.includes("cookie") ? a[a.indexOf("cookie") + 1] : undefined,
        argv: a,
      });
      return ok();
    }
    if (a[0] === "filter" && a[1] === "del") {
      this.filters = this.filters.filter((f) => !(f.dev === dev && f.pref === pref));
      return ok();
    }
    return fail(`tc ${args.join(" ")}: unsupported`);
  }

  private sysctl(args: string[]): CommandResult {
    const read = (k: string) => this.sysctls.get(k) ?? (k.includes(".conf.") ? "1" : "0");
    if (args[0] === "-n") return ok(`${read(args[1]!)}\n`);
    if (args[0] === "-e")
      return ok(
        args
          .slice(1)
          .map((k) => `${k} = ${read(k)}\n`)
          .join(""),
      );
    const kv = args[args.length - 1]!;
    const [k, v] = kv.split("=") as [string, string];
    this.sysctls.set(k, v);
    return ok();
  }

  /** Own chain names per family/table, for state comparisons. */
  own(fam: "4" | "6"): string {
    return this.save(fam)
      .split("\n")
      .filter((l) => l.includes("TOLLGATE"))
      .join("\n");
  }
}
