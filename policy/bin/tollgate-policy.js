#!/usr/bin/env node
"use strict";
// Thin shim: the CLI is compiled from src/cli.ts (npm run build).
require("../dist/cli.js").main(process.argv);
