export * from "./layout";
export * from "./native";
export * from "./tun";
export * from "./poll";
export * from "./udp";
