/**
 * `npm run docs:appliance`: writes the settings reference tables (rendered from the appliance's
 * settings and option tables) into appliance/README.md. tests/appliance/unit/settings.test.ts
 * fails when the README differs from what this writes.
 */
import * as fs from "fs";
import * as path from "path";
import { settingsDocs, withGeneratedBlocks } from "@tollgate/appliance";

const readme = path.resolve(__dirname, "../../appliance/README.md");
const before = fs.readFileSync(readme, "utf8");
const after = withGeneratedBlocks(before, settingsDocs());
if (after !== before) fs.writeFileSync(readme, after);
process.stdout.write(`${readme}: ${after === before ? "up to date" : "updated"}\n`);
