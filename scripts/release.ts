/**
 * `npm run release -- --arch x86_64|arm64|all [--out DIR]`: builds (or finds in the cache) the
 * appliance release artifact for each architecture and prints its path, size and hash.
 */
import { Command, Option } from "commander";
import { type Architecture, buildRelease } from "@tollgate/components";

async function main(argv: readonly string[]): Promise<void> {
  const cmd = new Command("release")
    .description("build the self-contained appliance release artifact per architecture")
    .addOption(
      new Option("--arch <arch>", "instance architecture")
        .choices(["x86_64", "arm64", "all"])
        .default("x86_64"),
    )
    .option("--out <dir>", "output and cache directory", ".tollgate/releases")
    .option("--json", "print one JSON object per artifact")
    .parse([...argv], { from: "user" });
  const opts = cmd.opts<{ arch: Architecture | "all"; out: string; json?: boolean }>();
  const archs: Architecture[] = opts.arch === "all" ? ["x86_64", "arm64"] : [opts.arch];
  for (const arch of archs) {
    const a = await buildRelease({ arch, outDir: opts.out });
    if (opts.json) console.log(JSON.stringify(a));
    else
      console.log(
        `${arch}: ${a.path} ${a.bytes} bytes (${(a.bytes / 2 ** 20).toFixed(1)} MiB) sha256 ${a.sha256}${a.cached ? " (cached)" : ""}`,
      );
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
});
