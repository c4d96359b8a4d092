/** IAM policy document parsing for the least-privilege policies (pure). */
import { T } from "../model/types";

export interface Statement {
  readonly sid?: string;
  readonly effect: string;
  readonly actions: string[];
  readonly notAction: boolean;
  readonly resources: string[];
  readonly notResource: boolean;
  readonly condition?: unknown;
}

export interface ParsedDocument {
  readonly where: string;
  readonly statements: Statement[];
  readonly error?: string;
}

const list = (v: unknown): string[] =>
  v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)];

/** Parses a policy document given as a JSON string or an object. */
export function parseDocument(doc: unknown, where: string): ParsedDocument {
  let obj: unknown = doc;
  if (typeof doc === "string") {
    try {
      obj = JSON.parse(doc);
    } catch {
      return { where, statements: [], error: `${where} is not valid JSON` };
    }
  }
  if (obj === null || typeof obj !== "object")
    return { where, statements: [], error: `${where} is not a policy document` };
  const raw = (obj as Record<string, unknown>).Statement;
  const stmts = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  return {
    where,
    statements: stmts.map((s) => {
      const st = (s ?? {}) as Record<string, unknown>;
      return {
        sid: st.Sid === undefined ? undefined : String(st.Sid),
        effect: String(st.Effect ?? "Allow"),
        actions: list(st.Action ?? st.NotAction),
        notAction: st.NotAction !== undefined,
        resources: list(st.Resource ?? st.NotResource),
        notResource: st.NotResource !== undefined,
        condition: st.Condition,
      };
    }),
  };
}

/** The IAM documents a resource carries (inline role policies, role policies, managed policies). */
export function documentsOf(
  type: string,
  name: string,
  props: Record<string, unknown>,
): ParsedDocument[] {
  if (type === T.rolePolicy || type === T.policy) {
    return props.policy === undefined
      ? []
      : [
          parseDocument(
            props.policy,
            `policy of ${type === T.policy ? "IAM policy" : "role policy"} "${name}"`,
          ),
        ];
  }
  if (type === T.role) {
    const inline = props.inlinePolicies as Record<string, unknown>[] | undefined;
    return (inline ?? [])
      .filter((p) => p.policy !== undefined)
      .map((p) =>
        parseDocument(p.policy, `inline policy "${String(p.name ?? "?")}" of role "${name}"`),
      );
  }
  return [];
}

export const IAM_DOC_TYPES = [T.rolePolicy, T.policy, T.role] as const;

/** `Sid "x"` or statement index for messages. */
export function stmtName(s: Statement, i: number): string {
  return s.sid ? `statement "${s.sid}"` : `statement #${i + 1}`;
}

const READ_VERBS = /^(Describe|Get|List|BatchGet|Head|Query|Scan|Search|Lookup|View|Select)/;

/** True when an action (possibly a wildcard like `ec2:Describe*`) only reads. */
export function isReadOnly(action: string): boolean {
  const i = action.indexOf(":");
  if (i < 0) return false;
  return READ_VERBS.test(action.slice(i + 1));
}

/** Glob match of an IAM action pattern (`*`, `?`) against a concrete action, case-insensitive. */
export function actionMatches(pattern: string, action: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".")}$`,
    "i",
  );
  return re.test(action);
}
