#!/usr/bin/env node
"use strict";
// Entry point of the lab (npm run lab). The TypeScript is compiled by `npm run build`.
const path = require("node:path");
const fs = require("node:fs");
const cli = path.join(__dirname, "..", "dist", "cli.js");
if (!fs.existsSync(cli)) {
  process.stderr.write(`tollgate-lab: ${cli} is missing: run npm run build first\n`);
  process.exit(2);
}
require(cli).main(process.argv);
