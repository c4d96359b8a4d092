/** Lookup maps over a stack's resources (by URN, id and ARN) and reference resolution. */
import type { PolicyResource } from "@pulumi/policy/policy";
import { bag, str } from "./values";

/** Lookup maps over the stack: by URN, by id and by ARN. */
export class StackIndex {
  readonly byUrn = new Map<string, PolicyResource>();
  readonly byId = new Map<string, PolicyResource>();

  constructor(readonly resources: readonly PolicyResource[]) {
    for (const r of resources) {
      this.byUrn.set(r.urn, r);
      const p = bag(r.props);
      const id = str(p.id);
      if (id) this.byId.set(id, r);
      const arn = str(p.arn);
      if (arn) this.byId.set(arn, r);
    }
  }

  /**
   * Resolves the resource referenced by `from.props[prop]` (or by `value`, for nested values),
   * first by known id/ARN, then through the property's dependencies filtered by type.
   */
  ref(
    from: PolicyResource,
    prop: string,
    value: unknown,
    types: readonly string[],
  ): PolicyResource | undefined {
    const s = str(value);
    if (s) {
      const hit = this.byId.get(s);
      if (hit && types.includes(hit.type)) return hit;
    }
    const deps = from.propertyDependencies?.[prop];
    if (!deps || deps.length === 0) return undefined;
    let found: PolicyResource | undefined;
    for (const d of deps) {
      if (d && types.includes(d.type)) {
        if (found && found.urn !== d.urn) return undefined; // ambiguous
        found = d;
      }
    }
    return found;
  }

  /** All resources of `types` referenced by `prop` (array-valued properties). */
  refs(
    from: PolicyResource,
    prop: string,
    values: unknown[],
    types: readonly string[],
  ): PolicyResource[] {
    const out = new Map<string, PolicyResource>();
    for (const v of values) {
      const s = str(v);
      const hit = s ? this.byId.get(s) : undefined;
      if (hit && types.includes(hit.type)) out.set(hit.urn, hit);
    }
    if (out.size < values.length) {
      for (const d of from.propertyDependencies?.[prop] ?? []) {
        if (d && types.includes(d.type)) out.set(d.urn, d);
      }
    }
    return [...out.values()];
  }
}

/** `type "name" (id)` label for a resource. */
export function labelOf(res: PolicyResource | undefined, kind: string, id?: string): string {
  if (!res) return `${kind} ${id ?? "(unknown)"}`;
  const known = id ?? str(bag(res.props).id);
  return known ? `${kind} "${res.name}" (${known})` : `${kind} "${res.name}"`;
}
