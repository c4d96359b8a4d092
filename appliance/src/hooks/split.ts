/**
 * Splits a hook command string into argv, like a POSIX shell would tokenise it, without running a
 * shell: words are separated by blanks; single quotes keep everything literally; double quotes
 * keep blanks and honour backslash before `"`, `\`, `$` and a backquote; a backslash outside
 * quotes escapes the next character. There is no variable expansion, globbing, redirection,
 * pipes or command substitution: `$HOME`, `*`, `>`, `|` and `;` are passed as literal
 * characters. (The reference tunnel handler passed the string to system(); a command needing a
 * shell can still be written as `/bin/sh -c '...'`.)
 */
export class CommandSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CommandSyntaxError";
  }
}

export function splitCommand(command: string): string[] {
  const out: string[] = [];
  let cur = "";
  let inWord = false;
  let i = 0;
  const n = command.length;
  while (i < n) {
    const c = command[i]!;
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      if (inWord) {
        out.push(cur);
        cur = "";
        inWord = false;
      }
      i++;
    } else if (c === "'") {
      const end = command.indexOf("'", i + 1);
      if (end < 0) throw new CommandSyntaxError(`unterminated single quote at column ${i + 1}`);
      cur += command.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      inWord = true;
      for (;;) {
        if (i >= n) throw new CommandSyntaxError("unterminated double quote");
        const d = command[i]!;
        if (d === '"') {
          i++;
          break;
        }
        if (d === "\\" && i + 1 < n && '"\\$`'.includes(command[i + 1]!)) {
          cur += command[i + 1]!;
          i += 2;
        } else if (d === "\\" && command[i + 1] === "\n") {
          i += 2;
        } else {
          cur += d;
          i++;
        }
      }
    } else if (c === "\\") {
      if (i + 1 >= n) throw new CommandSyntaxError("trailing backslash");
      if (command[i + 1] !== "\n") {
        cur += command[i + 1]!;
        inWord = true;
      }
      i += 2;
    } else {
      cur += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) out.push(cur);
  return out;
}
