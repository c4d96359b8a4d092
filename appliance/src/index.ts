/** Public surface of the Tollgate appliance package. Filled by the appliance issues. */
export const GENEVE_PORT = 6081;
export * from "./geneve/codec";
export * from "./naming";
