import { Writable } from "node:stream";
import { createLogger, type Logger } from "@tollgate/appliance";

/** The daemon's logger writing into `lines` (one JSON line per entry) instead of stdout. */
export function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger(
    "info",
    new Writable({
      write(chunk: Buffer, _e, cb) {
        lines.push(chunk.toString());
        cb();
      },
    }),
  );
  return { logger, lines };
}
