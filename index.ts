// Tollgate Pulumi program: composition root. Reads the typed `tollgate:` config of the stack and
// declares the topology; the exported function's result becomes the stack outputs.
import { main } from "./components/program";

export = async () => main();
