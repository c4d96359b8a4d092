export * from "./counters";
export * from "./port";
export * from "./endpoints";
export * from "./datapath";
