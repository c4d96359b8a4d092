/**
 * Package boundaries: no file imports another workspace's compiled internals
 * (`@tollgate/<pkg>/dist/...`; each package's index is its API), and the appliance package (what
 * instances receive) packs runtime files only: no emulator, benches, tests or TypeScript sources.
 */
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const root = path.resolve(__dirname, "../../..");
const SKIP = new Set(["node_modules", "dist", "build", ".git"]);

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(e.name) || e.name.startsWith(".")) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) sourceFiles(p, out);
    else if (/\.(ts|js)$/.test(e.name) && !e.name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

describe("package boundaries", () => {
  it("no source or test file imports another package's dist/", () => {
    const deep = /["']@tollgate\/[a-z-]+\/dist(\/[^"']*)?["']/;
    const offenders = sourceFiles(root).flatMap((f) =>
      fs
        .readFileSync(f, "utf8")
        .split("\n")
        .flatMap((line, i) => (deep.test(line) ? [`${path.relative(root, f)}:${i + 1}`] : [])),
    );
    assert.deepEqual(
      offenders,
      [],
      "import from the package index (@tollgate/<pkg>) and export what is needed there",
    );
  });

  it("nothing outside components/ imports its files by a relative path", () => {
    // components/ is the workspace package @tollgate/components (compiled to components/dist): a
    // relative import would type-check against its sources but fail at run time under build/.
    const relative = /(from\s+|require\(\s*|import\(\s*)["'](\.\.?\/)+components(\/[^"']*)?["']/;
    const offenders = sourceFiles(root)
      .filter((f) => !path.relative(root, f).startsWith(`components${path.sep}`))
      .flatMap((f) =>
        fs
          .readFileSync(f, "utf8")
          .split("\n")
          .flatMap((line, i) =>
            relative.test(line) ? [`${path.relative(root, f)}:${i + 1}`] : [],
          ),
      );
    assert.deepEqual(offenders, [], 'import from "@tollgate/components" (its index is the API)');
  });

  it("npm pack of the appliance lists runtime files only", function () {
    this.timeout(60_000);
    const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
      cwd: path.join(root, "appliance"),
      encoding: "utf8",
      timeout: 55_000,
      stdio: ["ignore", "pipe", "ignore"],
    });
    const files = (JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
    const runtime = [
      /^(package\.json|README\.md|bin\/tollgate\.js)$/,
      /^dist\/.+\.js$/,
      /^native\/(binding\.gyp|build\.js|src\/[^/]+\.c|build\/Release\/tollgate_native\.node)$/,
      // The kernel data path: its objects (loaded at run time), their sources and build script, like the addon's.
      /^bpf\/(build\.js|tollgate(-count)?\.bpf\.c|build\/tollgate(-count)?\.bpf\.o)$/,
      /^systemd\/[^/]+$/,
    ];
    const notRuntime = files.filter(
      (f) =>
        !runtime.some((r) => r.test(f)) ||
        /emulator|bench|test|fixture|\.ts$|\.map$|tsbuildinfo/.test(f),
    );
    assert.deepEqual(notRuntime, [], "appliance/package.json `files` ships only runtime files");
    for (const needed of [
      "bin/tollgate.js",
      "dist/cli.js",
      "dist/index.js",
      "native/build/Release/tollgate_native.node",
      "bpf/build/tollgate.bpf.o",
      "bpf/build/tollgate-count.bpf.o",
      "systemd/tollgate.service",
    ]) {
      assert.ok(files.includes(needed), `npm pack of the appliance lacks ${needed}`);
    }
  });
});
