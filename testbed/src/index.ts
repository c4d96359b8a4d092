/**
 * Public surface of @tollgate/testbed: what the tests and `tollgate-emu` use to drive an
 * appliance from the GWLB side. Never installed on instances (the appliance package does not
 * depend on it).
 */
export * from "./packet";
export * from "./emulator";
