/**
 * Public surface of @tollgate/testbed: what the tests and `tollgate-emu` use to drive an
 * appliance from the GWLB side. Never installed on instances (the appliance package does not
 * depend on it).
 */
export * from "./packet";
export * from "./emulator";
export {
  BENCH_RULES_FILE,
  BENCH_SID_BASE,
  benchRulesFiles,
  generateDomains,
  generateSignatures,
  writeBenchFiles,
} from "./ids-bench";
export { benchResult, renderBenchReport, type BenchMachine, type BenchRow } from "./bench-report";
