/**
 * Pure helpers that turn a desired own state plus the live own state into one
 * `iptables-restore --noflush` document: jumps from built-in chains present exactly once, stale
 * own chains flushed and deleted, nobody else's rules touched. Also builds rollback documents.
 */
import type { IptablesOwnState } from "./live";
import { TABLES, type JumpSpec, type Table } from "./model";

/** Lines appended to a table section: jump fixes, then deletion of stale own chains. */
function fixups(
  table: Table,
  desiredChains: ReadonlySet<string>,
  jumps: readonly JumpSpec[],
  live: IptablesOwnState,
): string[] {
  const lines: string[] = [];
  const wanted = new Set(jumps.filter((j) => j.table === table).map((j) => `${j.from} ${j.to}`));
  for (const key of wanted) {
    const n = live.jumps[table].get(key) ?? 0;
    const [from, to] = key.split(" ") as [string, string];
    if (n === 0) lines.push(`-I ${from} 1 -j ${to}`);
    for (let i = 1; i < n; i++) lines.push(`-D ${from} -j ${to}`);
  }
  for (const [key, n] of live.jumps[table]) {
    if (wanted.has(key)) continue;
    const [from, to] = key.split(" ") as [string, string];
    for (let i = 0; i < n; i++) lines.push(`-D ${from} -j ${to}`);
  }
  const stale = [...live.chains[table].keys()].filter((c) => !desiredChains.has(c));
  for (const c of stale) lines.push(`-F ${c}`);
  for (const c of stale) lines.push(`-X ${c}`);
  return lines;
}

/**
 * Adds jump fixes and stale-chain deletions to a compiled restore document (which declares,
 * flushes and fills every desired own chain).
 */
export function finalizeRestore(
  doc: string,
  desired: Readonly<Record<Table, readonly string[]>>,
  jumps: readonly JumpSpec[],
  live: IptablesOwnState,
): string {
  const out: string[] = [];
  let table: Table | undefined;
  for (const line of doc.split("\n")) {
    if (line.startsWith("*")) table = line.slice(1) as Table;
    if (line === "COMMIT" && table)
      out.push(...fixups(table, new Set(desired[table]), jumps, live));
    if (line !== "" || out.length === 0) out.push(line);
  }
  return `${out.join("\n").replace(/\n+$/, "")}\n`;
}

/** A document that puts the own state back to `snapshot` (used for rollback and `remove`). */
export function restoreDocument(
  snapshot: IptablesOwnState,
  jumps: readonly JumpSpec[],
  live: IptablesOwnState,
): string {
  const lines: string[] = [];
  for (const t of TABLES) {
    const chains = [...snapshot.chains[t].keys()];
    const snapJumps = [...snapshot.jumps[t].keys()].map((k) => {
      const [from, to] = k.split(" ") as [string, string];
      return { table: t, from, to };
    });
    const tableJumps = jumps.filter(
      (j) => j.table === t && snapshot.jumps[t].has(`${j.from} ${j.to}`),
    );
    const extra = fixups(t, new Set(chains), [...tableJumps, ...snapJumps], live);
    if (chains.length === 0 && extra.length === 0) continue;
    lines.push(`*${t}`);
    for (const c of chains) lines.push(`:${c} - [0:0]`);
    for (const c of chains) lines.push(`-F ${c}`);
    for (const rules of snapshot.chains[t].values()) lines.push(...rules);
    lines.push(...extra);
    lines.push("COMMIT");
  }
  return lines.length > 0 ? `${lines.join("\n")}\n` : "";
}

/** Turns `ipset save` output into a restore that swaps each set's saved content back in. */
export function ipsetRollback(save: string): string {
  const lines: string[] = [];
  const names: string[] = [];
  for (const line of save.split("\n")) {
    const m = /^(create|add) (\S+)(.*)$/.exec(line);
    if (!m) continue;
    const [, verb, name, rest] = m as unknown as [string, string, string, string];
    if (verb === "create") {
      names.push(name);
      lines.push(`create ${name}-n${rest} -exist`, `flush ${name}-n`);
    } else {
      lines.push(`add ${name}-n${rest}`);
    }
  }
  for (const n of names) lines.push(`swap ${n}-n ${n}`, `destroy ${n}-n`);
  return lines.length > 0 ? `${lines.join("\n")}\n` : "";
}
