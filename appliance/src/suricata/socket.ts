/**
 * Suricata's unix socket (`unix-command`), the protocol suricatasc speaks: JSON messages over a
 * stream socket. The client says `{"version": "0.2"}`, Suricata answers `{"return": "OK"}`;
 * then each command `{"command": "reload-rules"}` gets one answer
 * `{"return": "OK" | "NOK", "message": ...}`. Answers end with a newline in protocol 0.2; this
 * client also accepts one that is complete JSON without it.
 */
import net from "node:net";

export interface SocketAnswer {
  readonly return: string;
  readonly message?: unknown;
}

/** Splits a stream into JSON answers (newline-terminated, or complete JSON at the end). */
function answerReader(onAnswer: (a: SocketAnswer) => void, onError: (e: Error) => void) {
  let buffer = "";
  return (chunk: Buffer) => {
    buffer += chunk.toString("utf8");
    for (;;) {
      const nl = buffer.indexOf("\n");
      const text = nl >= 0 ? buffer.slice(0, nl) : buffer;
      let parsed: SocketAnswer;
      try {
        parsed = JSON.parse(text) as SocketAnswer;
      } catch {
        if (nl >= 0) return onError(new Error(`suricata socket: not JSON: ${text.slice(0, 200)}`));
        return; // incomplete: wait for more
      }
      buffer = nl >= 0 ? buffer.slice(nl + 1) : "";
      onAnswer(parsed);
      if (buffer === "") return;
    }
  };
}

/**
 * Connects to `socketPath`, negotiates the protocol version and runs `command` (with
 * `args`); resolves with Suricata's answer (`return` "OK" or "NOK"). Rejects when the socket
 * cannot be reached, the handshake fails or nothing comes back within `timeoutMs`.
 */
export function suricataCommand(
  socketPath: string,
  command: string,
  options: { args?: Record<string, unknown>; timeoutMs?: number } = {},
): Promise<SocketAnswer> {
  return new Promise((resolve, reject) => {
    const sock = net.createConnection(socketPath);
    const timeoutMs = options.timeoutMs ?? 30000;
    const timer = setTimeout(
      () => fail(new Error(`suricata socket: no answer to ${command} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const fail = (e: Error) => {
      clearTimeout(timer);
      sock.destroy();
      reject(e);
    };
    let step: "version" | "command" = "version";
    const send = (msg: object) => sock.write(`${JSON.stringify(msg)}\n`);
    sock.on("connect", () => send({ version: "0.2" }));
    sock.on("error", (e) => {
      fail(new Error(`suricata socket ${socketPath}: ${e.message}`));
    });
    sock.on(
      "data",
      answerReader((a) => {
        if (step === "version") {
          if (a.return !== "OK")
            return fail(new Error(`suricata socket: version refused: ${JSON.stringify(a)}`));
          step = "command";
          return send({ command, ...(options.args ? { arguments: options.args } : {}) });
        }
        clearTimeout(timer);
        sock.end();
        resolve(a);
      }, fail),
    );
  });
}
