/** Structured JSON logs (pino) to stdout, one line per event, ISO timestamps. */
import pino, { type Logger } from "pino";
import type { LogLevel } from "./config";

export type { Logger };

export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { pid: process.pid, name: "tollgate" },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  return destination ? pino(options, destination) : pino(options);
}
