import { ConfigError } from "./errors";

/** Plain JSON-ish value as parsed from `Pulumi.<stack>.yaml` or `pulumi config get --json`. */
export type RawConfig = Readonly<Record<string, unknown>>;

function describe(value: unknown): string {
  return value === null
    ? "null"
    : Array.isArray(value)
      ? "a list"
      : `${typeof value} ${JSON.stringify(value)}`;
}

function closest(word: string, candidates: readonly string[]): string | undefined {
  const dist = (a: string, b: string): number => {
    const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
    for (let j = 1; j <= b.length; j++) d[0]![j] = j;
    for (let i = 1; i <= a.length; i++) {
      for (let j = 1; j <= b.length; j++) {
        const cost = a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1;
        d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      }
    }
    return d[a.length]![b.length]!;
  };
  let best: string | undefined;
  let bestD = 4;
  for (const c of candidates) {
    const dd = dist(word, c);
    if (dd < bestD) {
      best = c;
      bestD = dd;
    }
  }
  return best;
}

/**
 * Typed, path-aware access to one config object. Every type error names the full key
 * (`tollgate:fleet.minSizePerAz`). Values given as strings (as `pulumi config set` stores them) are
 * accepted for numbers and booleans.
 */
export class ConfigReader {
  constructor(
    private readonly obj: RawConfig,
    private readonly prefix = "",
  ) {}

  key(name: string): string {
    return this.prefix ? `${this.prefix}.${name}` : name;
  }

  has(name: string): boolean {
    return this.obj[name] !== undefined && this.obj[name] !== null;
  }

  /** Rejects keys outside `allowed` (typos would otherwise be silently ignored). */
  only(allowed: readonly string[]): this {
    for (const k of Object.keys(this.obj)) {
      if (!allowed.includes(k)) {
        const near = closest(k, allowed);
        throw new ConfigError(
          this.key(k),
          "is not a known setting",
          near
            ? `did you mean tollgate:${this.key(near)}`
            : `use one of ${allowed.join(", ")} (see docs/configuration.md)`,
        );
      }
    }
    return this;
  }

  /** Rejects keys that no longer exist, each with its own fix (what replaced it and why). */
  retired(fixes: Readonly<Record<string, string>>): this {
    for (const [k, fix] of Object.entries(fixes)) {
      if (k in this.obj) throw new ConfigError(this.key(k), "is no longer a setting", fix);
    }
    return this;
  }

  string(name: string): string | undefined {
    const v = this.obj[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v === "number") return String(v);
    if (typeof v !== "string") {
      throw new ConfigError(
        this.key(name),
        `must be a string, got ${describe(v)}`,
        "quote the value",
      );
    }
    return v;
  }

  enum<T extends string>(name: string, values: readonly T[]): T | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    if (!(values as readonly string[]).includes(v)) {
      throw new ConfigError(
        this.key(name),
        `${JSON.stringify(v)} is not allowed`,
        `use one of ${values.join(", ")}`,
      );
    }
    return v as T;
  }

  number(name: string): number | undefined {
    const v = this.obj[name];
    if (v === undefined || v === null) return undefined;
    const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
    if (typeof n !== "number" || !Number.isFinite(n)) {
      throw new ConfigError(
        this.key(name),
        `must be a number, got ${describe(v)}`,
        "give a plain number such as 2",
      );
    }
    return n;
  }

  boolean(name: string): boolean | undefined {
    const v = this.obj[name];
    if (v === undefined || v === null) return undefined;
    if (v === "true") return true;
    if (v === "false") return false;
    if (typeof v !== "boolean") {
      throw new ConfigError(
        this.key(name),
        `must be true or false, got ${describe(v)}`,
        "write true or false",
      );
    }
    return v;
  }

  object(name: string): ConfigReader {
    const v = this.parsed(name);
    if (v === undefined || v === null) return new ConfigReader({}, this.key(name));
    if (typeof v !== "object" || Array.isArray(v)) {
      throw new ConfigError(
        this.key(name),
        `must be an object, got ${describe(v)}`,
        "use a YAML mapping (key: value lines)",
      );
    }
    return new ConfigReader(v as RawConfig, this.key(name));
  }

  stringList(name: string): string[] | undefined {
    const v = this.parsed(name);
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
      throw new ConfigError(
        this.key(name),
        `must be a list of strings, got ${describe(v)}`,
        "use a YAML list of strings",
      );
    }
    return v as string[];
  }

  objectList(name: string): ConfigReader[] | undefined {
    const v = this.parsed(name);
    if (v === undefined || v === null) return undefined;
    if (
      !Array.isArray(v) ||
      v.some((x) => typeof x !== "object" || x === null || Array.isArray(x))
    ) {
      throw new ConfigError(
        this.key(name),
        `must be a list of objects, got ${describe(v)}`,
        "use a YAML list of mappings",
      );
    }
    return v.map((x, i) => new ConfigReader(x as RawConfig, `${this.key(name)}[${i}]`));
  }

  stringMap(name: string): Record<string, string> | undefined {
    const r = this.object(name);
    if (!this.has(name)) return undefined;
    const out: Record<string, string> = {};
    for (const k of Object.keys(r.obj)) out[k] = r.string(k) ?? "";
    return out;
  }

  /** Objects and lists may arrive as JSON text (Pulumi stores structured values as JSON strings). */
  private parsed(name: string): unknown {
    const v = this.obj[name];
    if (typeof v === "string" && /^\s*[[{]/.test(v)) {
      try {
        return JSON.parse(v) as unknown;
      } catch {
        throw new ConfigError(
          this.key(name),
          "is not valid JSON",
          "check the brackets and quotes of the value",
        );
      }
    }
    return v;
  }
}
