#!/usr/bin/env node
"use strict";
// `tollgate-emu ...` is `tollgate emu ...`: the GWLB emulator.
require("../dist/cli.js").main([process.argv[0], process.argv[1], "emu", ...process.argv.slice(2)]);
