// Pulumi program of the example (Pulumi.yaml): the region's first two AZs, the real release.
import { lookupRegionFacts } from "@tollgate/components";
import { inspectAwsxVpc } from "./program";

export = async () => {
  const facts = await lookupRegionFacts();
  const [a, b] = facts.availabilityZones;
  if (a === undefined || b === undefined) throw new Error(`${facts.region} has fewer than 2 AZs`);
  return inspectAwsxVpc({ aws: facts, availabilityZones: [a, b] });
};
