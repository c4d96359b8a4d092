/**
 * `npm run bench:program [spokes] [azs]`: builds a 20-spoke, 3-AZ stack (both topologies) under
 * mocks and prints the resource count and seconds; then a stack of at least 1000 resources, with
 * and without the capture's stack-trace suppression, and the ratio of the two. A benchmark, not a
 * test: nothing is asserted about time.
 */
import { captureStack } from "./capture";
import { manySpokesConfig } from "./capture/examples";

interface Result {
  resources: number;
  /** Wall-clock seconds. */
  seconds: number;
  /** CPU seconds of this process (less sensitive to other load on the machine). */
  cpu: number;
}

async function measure(spokes: number, azs: number): Promise<Result> {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const dep = await captureStack({ config: manySpokesConfig(spokes, azs) });
  const c = process.cpuUsage(c0);
  return {
    resources: dep.deployment.resources.length,
    seconds: Number(process.hrtime.bigint() - t0) / 1e9,
    cpu: (c.user + c.system) / 1e6,
  };
}

function line(label: string, r: Result): string {
  return `${label.padEnd(34)} resources=${String(r.resources).padStart(5)}  seconds=${r.seconds.toFixed(2)} (cpu ${r.cpu.toFixed(2)})  per-1000=${((r.seconds * 1000) / r.resources).toFixed(2)}s`;
}

async function run(): Promise<void> {
  const spokes = Number(process.argv[2] ?? 20);
  const azs = Number(process.argv[3] ?? 3);
  await measure(1, azs); // warm-up: module loading and JIT
  console.log(line(`stack: ${spokes} spokes, ${azs} AZs`, await measure(spokes, azs)));
  // Grow the spoke count until the stack has at least 1000 resources (18 resources per spoke at 3 AZs).
  let big = spokes;
  while (
    (await captureStack({ config: manySpokesConfig(big, azs) })).deployment.resources.length < 1000
  )
    big += 5;
  const fast = await measure(big, azs);
  console.log(line(`stack: ${big} spokes (>= 1000)`, fast));
  const saved = process.env.TOLLGATE_CAPTURE_STACK_LIMIT;
  process.env.TOLLGATE_CAPTURE_STACK_LIMIT = "10";
  const slow = await measure(big, azs);
  if (saved === undefined) delete process.env.TOLLGATE_CAPTURE_STACK_LIMIT;
  else process.env.TOLLGATE_CAPTURE_STACK_LIMIT = saved;
  console.log(line(`same, stack traces limit 10`, slow));
  console.log(`stack-trace suppression speed-up: x${(slow.seconds / fast.seconds).toFixed(2)}`);
}

run().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
