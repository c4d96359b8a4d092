/**
 * YAML text parsed with positions, so every problem in a file (the rules file, the appliance
 * config file) is reported the same way: `name:line:col: message`.
 */
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Document, type Node } from "yaml";

export type YamlPath = readonly (string | number)[];

export interface LocatedYaml {
  readonly doc: Document;
  /** Syntax errors (duplicate keys included), each as `name:line:col: message`; empty when none. */
  readonly syntaxErrors: string[];
  /** The same syntax errors with their positions (1-based). */
  readonly syntax: readonly { line: number; col: number; message: string; code: string }[];
  /**
   * `name:line:col` of the node at `path` (of the key of its last element when `atKey`); when the
   * path does not exist, of the deepest part of it that does.
   */
  locate(path: YamlPath, atKey?: boolean): string;
  /** Line and column (1-based) of the node {@link locate} names. */
  position(path: YamlPath, atKey?: boolean): { line: number; col: number };
}

function nodeAt(doc: Document, path: YamlPath, atKey: boolean): Node | undefined {
  let node: unknown = doc.contents;
  let keyNode: unknown;
  for (const p of path) {
    if (isMap(node)) {
      const pair = node.items.find((it) => isScalar(it.key) && String(it.key.value) === String(p));
      if (!pair) return (keyNode ?? node) as Node;
      keyNode = pair.key;
      node = pair.value;
    } else if (isSeq(node) && typeof p === "number") {
      keyNode = undefined;
      node = node.items[p];
    } else {
      break;
    }
  }
  return ((atKey ? keyNode : undefined) ?? node ?? keyNode) as Node | undefined;
}

/** Parses `text` (unique keys, no pretty errors) and locates nodes in it; `name` is usually the file path. */
export function parseLocatedYaml(text: string, name: string): LocatedYaml {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const pos = (offset: number | undefined) =>
    offset === undefined ? { line: 1, col: 1 } : lc.linePos(offset);
  const at = (offset: number | undefined): string => {
    const p = pos(offset);
    return `${name}:${p.line}:${p.col}`;
  };
  const syntax = doc.errors.map((e) => ({
    ...pos(e.pos[0]),
    message: e.message.split("\n")[0]!,
    code: e.code,
  }));
  return {
    doc,
    syntaxErrors: syntax.map((e) => `${name}:${e.line}:${e.col}: ${e.message}`),
    syntax,
    locate: (path, atKey = false) => at(nodeAt(doc, path, atKey)?.range?.[0]),
    position: (path, atKey = false) => pos(nodeAt(doc, path, atKey)?.range?.[0]),
  };
}
