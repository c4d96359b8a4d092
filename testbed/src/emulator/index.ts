/** GWLB-side GENEVE peer library: flows, transports, the validating peer, malformed traffic. */
export * from "./transport";
export * from "./flows";
export * from "./peer";
export * from "./malformed";
export * from "./run";
export * from "./checksum-audit";
