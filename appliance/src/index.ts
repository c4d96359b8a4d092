/** Public surface of the Tollgate appliance package. Filled by the appliance issues. */
export const GENEVE_PORT = 6081;
export * from "./geneve/codec";
export * from "./naming";
export * from "./packet/parse";
export * from "./packet/checksum";
export * from "./packet/build";
export * from "./flow/key";
export * from "./flow/cache";
export * from "./emulator";
export * from "./hooks/split";
export * from "./hooks/runner";
export * from "./sysctl/rp-filter";
export * from "./health/status";
export * from "./health/evaluate";
export * from "./health/server";
export * from "./metrics/registry";
