import * as assert from "assert";
import { execFileSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  buildRelease,
  compilerFor,
  writeArchive,
  Lockfile,
  productionClosure,
  addonCompileArgs,
  newestGlibc,
} from "@tollgate/components";

const ROOT = path.resolve(__dirname, "../../..");

function hasCommand(cmd: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe("release: production dependency closure from the lockfile", () => {
  const lock: Lockfile = {
    lockfileVersion: 3,
    packages: {
      "": { dependencies: {} },
      app: { version: "1.0.0", dependencies: { a: "^1", c: "^2" } },
      "node_modules/app": { link: true },
      "node_modules/a": { version: "1.0.0", dependencies: { b: "^1" } },
      "node_modules/b": { version: "1.0.0" },
      "node_modules/a/node_modules/c": { version: "1.0.0" },
      "app/node_modules/c": {
        version: "2.0.0",
        peerDependencies: { p: "*", q: "*" },
        peerDependenciesMeta: { q: { optional: true } },
        optionalDependencies: { missing: "*" },
      },
      "node_modules/p": { version: "3.0.0" },
      "node_modules/c": { version: "9.0.0" },
      "node_modules/dev-only": { version: "1.0.0", dev: true },
    },
  };

  it("follows dependencies and required peers as Node resolves them, drops dev and absent optional ones", () => {
    const got = productionClosure(lock, "app").map((p) => `${p.from} -> ${p.to} @${p.version}`);
    assert.deepStrictEqual(got, [
      "node_modules/a -> node_modules/a @1.0.0",
      "node_modules/b -> node_modules/b @1.0.0",
      "app/node_modules/c -> node_modules/c @2.0.0",
      "node_modules/p -> node_modules/p @3.0.0",
    ]);
  });

  it("refuses two packages landing on one path, and a missing required package", () => {
    const clash: Lockfile = {
      ...lock,
      packages: {
        ...lock.packages,
        "node_modules/b": { version: "1.0.0", dependencies: { c: "^9" } },
      },
    };
    assert.throws(() => productionClosure(clash, "app"), /would both land on node_modules\/c/);
    const missing: Lockfile = {
      lockfileVersion: 3,
      packages: { app: { dependencies: { gone: "^1" } } },
    };
    assert.throws(() => productionClosure(missing, "app"), /needs gone .*Fix: run npm install/);
  });

  it("closes over the real appliance workspace without dev packages", () => {
    const real = JSON.parse(
      fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8"),
    ) as Lockfile;
    const names = productionClosure(real, "appliance").map((p) => p.name);
    for (const n of ["pino", "zod", "yaml", "commander", "prom-client", "ipaddr.js"]) {
      assert.ok(names.includes(n), `${n} in the closure`);
    }
    for (const n of ["typescript", "mocha", "eslint", "@pulumi/pulumi"]) {
      assert.ok(!names.includes(n), `${n} not in the closure`);
    }
  });
});

describe("release: native addon and archive", () => {
  it("compiles with binding.gyp's flags, the runtime's headers and reproducible paths", () => {
    const args = addonCompileArgs(
      "/src/native",
      { target_name: "t", sources: ["src/t.c"], cflags: ["-O2"], defines: ["NAPI_VERSION=8"] },
      "/inc/node",
      "/out/t.node",
    );
    for (const a of ["-shared", "-fPIC", "-O2", "-DNAPI_VERSION=8", "-I/inc/node"]) {
      assert.ok(args.includes(a), a);
    }
    assert.ok(args.includes("-ffile-prefix-map=/src/native=."));
    assert.strictEqual(args.at(-1), "/src/native/src/t.c");
    assert.deepStrictEqual(compilerFor("arm64", "x64"), {
      command: "aarch64-linux-gnu-gcc",
      debianPackage: "gcc-aarch64-linux-gnu",
    });
    assert.strictEqual(compilerFor("x86_64", "x64").command, "gcc");
  });

  it("reads the newest glibc symbol version an object needs", () => {
    const out =
      "  0x0010:   Name: GLIBC_2.17  Flags: none\n  0x0020: Name: GLIBC_2.2.5\n GLIBC_2.34";
    assert.strictEqual(newestGlibc(out), "2.34");
    assert.strictEqual(newestGlibc("nothing"), undefined);
  });

  it("writes the same bytes for the same tree whatever the files' times and umask", async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tg-release-test-"));
    try {
      const digests: string[] = [];
      for (const [i, mtime] of [new Date(2001, 1, 1), new Date()].entries()) {
        const dir = path.join(tmp, `tree${i}`);
        // Created in different orders and with different modes/mtimes.
        const files = i === 0 ? ["b/x.js", "a.txt"] : ["a.txt", "b/x.js"];
        for (const f of files) {
          fs.mkdirSync(path.join(dir, path.dirname(f)), { recursive: true });
          fs.writeFileSync(path.join(dir, f), `content of ${f}\n`, {
            mode: i === 0 ? 0o644 : 0o664,
          });
          fs.utimesSync(path.join(dir, f), mtime, mtime);
        }
        const out = path.join(tmp, `out${i}.tar.gz`);
        await writeArchive(dir, out);
        digests.push(createHash("sha256").update(fs.readFileSync(out)).digest("hex"));
      }
      assert.strictEqual(digests[0], digests[1]);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe("release: the built artifact", function () {
  // A cold build unpacks a 40 MB runtime and gzips ~110 MB; later runs hit the cache.
  this.timeout(600_000);

  it("x86_64: runs its own CLI with the bundled node and addon; a second build is a cache hit", async function () {
    if (!hasCommand("gcc") || !hasCommand("file")) this.skip();
    const first = await buildRelease({ arch: "x86_64", root: ROOT });
    const again = await buildRelease({ arch: "x86_64", root: ROOT });
    assert.strictEqual(again.cached, true);
    assert.strictEqual(again.sha256, first.sha256);
    assert.strictEqual(first.bytes, fs.statSync(first.path).size);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tg-release-x86-"));
    try {
      execFileSync("tar", ["-xzf", first.path, "-C", dir]);
      const names = execFileSync("tar", ["-tzf", first.path], { encoding: "utf8" }).split("\n");
      const own = names.filter(
        (n) => n.startsWith("./lib/appliance/") && !n.includes("node_modules"),
      );
      assert.ok(own.some((n) => n.endsWith("dist/cli.js")));
      for (const object of ["tollgate.bpf.o", "tollgate-count.bpf.o"]) {
        assert.ok(
          own.includes(`./lib/appliance/bpf/build/${object}`),
          `the kernel data path's BPF object ${object} is shipped`,
        );
      }
      assert.ok(
        !own.some((n) => /\.test\.js$|\.d\.ts$|\.map$|\/src\//.test(n)),
        "no tests, types, maps or sources shipped",
      );
      assert.ok(!names.some((n) => /node_modules\/(typescript|mocha|@pulumi)\//.test(n)));
      const version = execFileSync(path.join(dir, "bin/tollgate"), ["--version"], {
        encoding: "utf8",
      });
      assert.strictEqual(version.trim(), first.version);
      const loaded = execFileSync(
        path.join(dir, "bin/node"),
        [
          "-e",
          "console.log(typeof require('./lib/appliance/dist/io/native.js').loadNative().udpOpen)",
        ],
        { cwd: dir, encoding: "utf8" },
      );
      assert.strictEqual(loaded.trim(), "function", "the bundled addon loads in the bundled node");
      // The unit in the artifact is the repository's hardened unit, byte for byte.
      assert.ok(
        fs
          .readFileSync(path.join(dir, "lib/appliance/systemd/tollgate.service"))
          .equals(fs.readFileSync(path.join(ROOT, "appliance/systemd/tollgate.service"))),
      );
      const check = execFileSync(
        path.join(dir, "bin/tollgate"),
        ["rules", "check", path.join(dir, "rules/default.yaml")],
        { encoding: "utf8" },
      );
      assert.match(check, /OK/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("arm64: cross-compiles the addon for aarch64 (skips without gcc-aarch64-linux-gnu)", async function () {
    if (!hasCommand("aarch64-linux-gnu-gcc") || !hasCommand("file")) this.skip();
    const a = await buildRelease({ arch: "arm64", root: ROOT });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tg-release-arm-"));
    try {
      const addon = "lib/appliance/native/build/Release/tollgate_native.node";
      execFileSync("tar", ["-xzf", a.path, "-C", dir, `./${addon}`, "./bin/node"]);
      assert.match(
        execFileSync("file", ["-b", path.join(dir, addon)], { encoding: "utf8" }),
        /ELF 64-bit LSB shared object, ARM aarch64/,
      );
      assert.match(
        execFileSync("file", ["-b", path.join(dir, "bin/node")], { encoding: "utf8" }),
        /ARM aarch64/,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
