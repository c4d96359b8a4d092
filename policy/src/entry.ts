/**
 * Package entry ("main"): the library, plus the policy pack when the Pulumi CLI boots this package.
 *
 * For Node.js packs the CLI runs @pulumi/pulumi/cmd/run-policy-pack on the pack directory, which
 * requires package.json "main" (PulumiPolicy.yaml `main` is ignored for nodejs). Library users
 * (tests, the CLI, other packages) import this file too, so the pack module (./index, which starts
 * a gRPC server) is only loaded when the process was started by run-policy-pack.
 */
export * from "./lib";

// TOLLGATE_POLICY_SERVE=1 forces serving (for hosts that load packs some other way).
const runner = require.main?.filename ?? "";
if (
  process.env.TOLLGATE_POLICY_SERVE === "1" ||
  /[\\/]run-policy-pack[\\/]index\.js$/.test(runner)
) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require("./index");
}
