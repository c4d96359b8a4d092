/**
 * Stand-in for the `tollgate` command in the GENEVE end-to-end test (same arguments as the lab
 * uses: `-p HEALTH_PORT --rules FILE`): the real data path daemon with the real rules listener,
 * and a plain HTTP health endpoint for the GWLB emulator's checks.
 */
import http from "node:http";
import { createRulesListener, startDatapathDaemon } from "@tollgate/appliance";
import { testDaemonSettings } from "../../appliance/helpers/settings";

const args = process.argv.slice(2);
const port = Number(args[args.indexOf("-p") + 1]);
const file = args[args.indexOf("--rules") + 1]!;
const stateFile = process.env.TOLLGATE_RULES_STATE;

const listener = createRulesListener({ file, stateFile, watch: false });
const daemon = startDatapathDaemon({ ...testDaemonSettings(), listeners: [listener] });
const health = http.createServer((_req, res) => res.end("ok\n"));
health.listen(port, "0.0.0.0");
daemon.onStop(async () => {
  health.close();
  await listener.close?.();
});
void daemon.stopped.then(() => process.exit(0));
