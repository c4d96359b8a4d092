// Tollgate Pulumi program: composition root. Reads the typed `tollgate:` config of the stack and
// declares the topology; the exported function's result becomes the stack outputs. A bad config
// stops the run with one line naming the key and the fix (see docs/configuration.md).
import { runStack } from "@tollgate/components";

export = async () => runStack();
