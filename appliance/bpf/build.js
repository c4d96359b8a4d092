#!/usr/bin/env node
// Compiles the kernel data path (tollgate.bpf.c) into build/tollgate.bpf.o and its flow counter
// (tollgate-count.bpf.c, a separate object: it needs the kernel's BTF) into
// build/tollgate-count.bpf.o with clang, each unless the object is newer than its sources. The object uses the kernel's uapi headers only (no vmlinux.h,
// no CO-RE relocations) and is compiled for little-endian BPF, so the same bytes serve x86_64 and
// arm64 instances. Without clang (Debian: clang, libbpf-dev) the build fails under CI=true or
// TOLLGATE_REQUIRE_BPF=1 (release builds); elsewhere it warns and the daemon's `--datapath auto`
// uses the user-space path. `--force` always rebuilds.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { execFileSync } = require("node:child_process");

const here = __dirname;
const OBJECTS = ["tollgate", "tollgate-count"];
const required = process.env.CI === "true" || process.env.TOLLGATE_REQUIRE_BPF === "1";

/** The multiarch include directory holding asm/types.h (its BPF-relevant content is generic). */
function asmInclude() {
  const triple = process.arch === "arm64" ? "aarch64-linux-gnu" : "x86_64-linux-gnu";
  return `/usr/include/${triple}`;
}

function upToDate(source, target) {
  try {
    const built = fs.statSync(target).mtimeMs;
    return [source, __filename].every((s) => fs.statSync(s).mtimeMs <= built);
  } catch {
    return false;
  }
}

function missing(what) {
  const msg = `tollgate bpf: ${what}. Fix: apt-get install clang libbpf-dev (scripts/system-deps.sh --install)`;
  if (required) {
    console.error(msg);
    process.exit(1);
  }
  console.warn(`${msg}; the kernel data path is not built (--datapath auto uses the user path)`);
}

function build(name) {
  const source = path.join(here, `${name}.bpf.c`);
  const target = path.join(here, "build", `${name}.bpf.o`);
  if (!process.argv.includes("--force") && upToDate(source, target)) {
    console.log(`tollgate bpf: ${name} up to date`);
    return true;
  }
  fs.mkdirSync(path.dirname(target), { recursive: true });
  try {
    execFileSync(
      "clang",
      [
        "-O2",
        "-g", // BTF: libbpf needs it for the map definitions
        "-Wall",
        "-Werror",
        "-target",
        "bpfel",
        `-fdebug-prefix-map=${here}=.`,
        `-I${asmInclude()}`,
        "-c",
        source,
        "-o",
        target,
      ],
      { stdio: "inherit" },
    );
  } catch (err) {
    if (err.code !== "ENOENT") throw err;
    missing("clang not found");
    return false;
  }
  return true;
}

if (!fs.existsSync("/usr/include/bpf/bpf_helpers.h")) {
  missing("libbpf headers not found (/usr/include/bpf/bpf_helpers.h)");
} else {
  OBJECTS.every(build);
}
