#!/usr/bin/env node
"use strict";
// `tollgate-emu ...`: the GWLB emulator (testbed only; instances never receive it).
require("../dist/cli.js").main();
