/**
 * Suricata on the appliance instances: which images carry it in their own repositories (the user
 * data installs it from there, never from elsewhere), and the check that refuses a rules file with
 * a `suricata:` section on an image without it, at `pulumi preview` / `npm run plan` time.
 */
import type { LoadedRules } from "@tollgate/appliance";
import { configError } from "./errors";
import type { AmiFamily } from "./inspection/fleet-args";

type SuricataSection = NonNullable<LoadedRules["file"]["suricata"]>;

/** Where an image gets Suricata from. */
export interface SuricataSource {
  /** The Suricata version the repository carries (what the appliance must work with). */
  readonly version: string;
  /** The repository, for the docs and the error messages. */
  readonly repository: string;
  /** The install commands (bash, run by the user data's `suricata` step). */
  readonly install: readonly string[];
}

const APT = "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends";
/** bookworm-backports as a deb822 source, for an image whose sources do not list it. */
const BACKPORTS_SOURCE =
  "Types: deb\\nURIs: http://deb.debian.org/debian\\nSuites: bookworm-backports\\nComponents: main\\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\\n";

/**
 * Images with a Suricata package. Debian 12's own suite (bookworm, 12.x point releases) no longer
 * carries `suricata` (its Packages index has only `suricata-update`); bookworm-backports does
 * (7.0.10, the version development and CI use). Ubuntu 22.04 carries 6.0.4 in universe.
 * Amazon Linux 2023 has no Suricata package.
 */
export const SURICATA_SOURCES: Readonly<Record<AmiFamily, SuricataSource | undefined>> = {
  "ubuntu-22.04": {
    version: "6.0.4",
    repository: "Ubuntu 22.04 universe",
    install: ["apt-get update -q", `${APT} suricata`],
  },
  "debian-12": {
    version: "7.0.10",
    repository: "Debian bookworm-backports",
    install: [
      "if ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then",
      `  printf '${BACKPORTS_SOURCE}' > /etc/apt/sources.list.d/tollgate-backports.sources`,
      "fi",
      "apt-get update -q",
      `${APT} -t bookworm-backports suricata`,
    ],
  },
  al2023: undefined,
};

/** The images that can run Suricata, for messages: `ubuntu-22.04 (Suricata 6.0.4, ...)`. */
export function suricataImages(): string {
  return Object.entries(SURICATA_SOURCES)
    .flatMap(([family, s]) => (s ? [`${family} (Suricata ${s.version}, ${s.repository})`] : []))
    .join(" or ");
}

/**
 * Whether a validated rules file's `suricata:` section (`section`, of `file`) enables Suricata,
 * refusing `ruleFiles`: the stack delivers the rules file alone, so the instances would not have
 * them.
 */
export function deliverableSuricata(file: string, section: SuricataSection | undefined): boolean {
  const ruleFiles = section?.ruleFiles ?? [];
  if (ruleFiles.length > 0)
    throw configError(
      "appliance.rulesFile",
      `${file} names suricata.ruleFiles (${ruleFiles.join(", ")}), which the stack does not deliver to the instances (only the rules file itself)`,
      "put those signatures under suricata.signatures in the rules file",
    );
  return section !== undefined;
}

/** Refuses Suricata on an image without a Suricata package (ConfigError naming the keys and fix). */
export function checkSuricataImage(amiFamily: AmiFamily, usesSuricata: boolean): void {
  if (!usesSuricata || SURICATA_SOURCES[amiFamily]) return;
  throw configError(
    "fleet.amiFamily",
    `${amiFamily} has no Suricata package, and the rules file (tollgate:appliance.rulesFile) has a suricata: section`,
    `use amiFamily ${suricataImages()}, or remove the suricata: section from the rules file`,
  );
}
