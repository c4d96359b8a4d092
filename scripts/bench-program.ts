/**
 * `npm run bench:program`: builds a 20-spoke, 3-AZ stack (both topologies) under mocks and prints
 * the resource count and the seconds it took. A benchmark, not a test: no timing is asserted.
 */
import { captureStack } from "./capture";
import { manySpokesConfig } from "./capture/examples";

async function run(): Promise<void> {
  const spokes = Number(process.argv[2] ?? 20);
  const azs = Number(process.argv[3] ?? 3);
  const config = manySpokesConfig(spokes, azs);
  // Warm-up (module loading, JIT) so the measured run is the program itself.
  await captureStack({ config: manySpokesConfig(1, azs) });
  const t0 = process.hrtime.bigint();
  const dep = await captureStack({ config });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const resources = dep.deployment.resources.length;
  const custom = dep.deployment.resources.filter((r) => r.custom).length;
  console.log(
    `bench:program spokes=${spokes} azs=${azs} resources=${resources} (custom ${custom}) seconds=${seconds.toFixed(2)} per-1000=${((seconds * 1000) / resources).toFixed(2)}s`,
  );
}

run().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
