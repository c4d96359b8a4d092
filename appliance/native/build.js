#!/usr/bin/env node
// Builds the tollgate_native addon with node-gyp (the copy bundled with npm), unless the built
// addon is already newer than its sources. npm does not run dependency install scripts here,
// so the root "build" script calls this explicitly. `--force` always rebuilds.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { execFileSync } = require("node:child_process");

const here = __dirname;
const target = path.join(here, "build", "Release", "tollgate_native.node");
const sources = [
  path.join(here, "binding.gyp"),
  __filename,
  ...listSources(path.join(here, "src")),
];

function listSources(dir) {
  return fs.readdirSync(dir).map((f) => path.join(dir, f));
}

function upToDate() {
  let built;
  try {
    built = fs.statSync(target).mtimeMs;
  } catch {
    return false;
  }
  return sources.every((s) => fs.statSync(s).mtimeMs <= built);
}

function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    path.join(
      path.dirname(process.execPath),
      "..",
      "lib",
      "node_modules",
      "npm",
      "node_modules",
      "node-gyp",
      "bin",
      "node-gyp.js",
    ),
  ];
  try {
    candidates.push(require.resolve("node-gyp/bin/node-gyp.js"));
  } catch {
    // not installed as a package: fine, npm bundles one
  }
  const found = candidates.find((c) => c && fs.existsSync(c));
  if (!found) {
    throw new Error(
      "node-gyp not found: install npm (which bundles it) or `npm install -g node-gyp`",
    );
  }
  return found;
}

function nodedirArgs() {
  // Use the installed Node headers (Debian's nodejs ships them in /usr/include/node) so the
  // build works offline; otherwise node-gyp downloads them.
  if (process.env.npm_config_nodedir) return [];
  const prefix = path.join(path.dirname(process.execPath), "..");
  return fs.existsSync(path.join(prefix, "include", "node", "node_api.h"))
    ? [`--nodedir=${prefix}`]
    : [];
}

if (process.argv.includes("--force") || !upToDate()) {
  execFileSync(process.execPath, [findNodeGyp(), "rebuild", ...nodedirArgs()], {
    cwd: here,
    stdio: "inherit",
  });
} else {
  console.log("tollgate_native: up to date");
}
