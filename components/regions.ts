import { Region } from "@pulumi/aws";
import { problemAt } from "./errors";
import { closest } from "./schema/parse";

/**
 * AWS regions and their availability zone names, offline: `npm run plan` and the preview's early
 * checks use this table; at deploy the provider's `aws.getAvailabilityZones` (the AZs this account
 * really has, state `available`) decides. Regions are the commercial, GovCloud and China regions of
 * @pulumi/aws's `Region` enum (a test keeps this table inside it); the AZ names are those EC2's
 * `DescribeAvailabilityZones` returns for each region, as published on the AWS regions page
 * (docs.aws.amazon.com/global-infrastructure/latest/regions/aws-regions.html).
 *
 * To update it when AWS opens a region or an AZ: in an account with the region enabled run
 *   aws ec2 describe-availability-zones --region <region> \
 *     --query 'AvailabilityZones[?ZoneType==`availability-zone`].ZoneName'
 * and add the letters below (and bump @pulumi/aws if its `Region` enum lacks the region).
 * AZ names are mapped per account: a few regions show an account only some of their names
 * (us-west-1 shows two of a/b/c); the deploy-time lookup catches that.
 */
export const REGION_AZ_LETTERS: Readonly<Record<string, string>> = {
  "us-east-1": "abcdef",
  "us-east-2": "abc",
  "us-west-1": "abc",
  "us-west-2": "abcd",
  "af-south-1": "abc",
  "ap-east-1": "abc",
  "ap-east-2": "abc",
  "ap-south-1": "abc",
  "ap-south-2": "abc",
  "ap-southeast-1": "abc",
  "ap-southeast-2": "abc",
  "ap-southeast-3": "abc",
  "ap-southeast-4": "abc",
  "ap-southeast-5": "abc",
  "ap-southeast-6": "abc",
  "ap-southeast-7": "abc",
  "ap-northeast-1": "acd",
  "ap-northeast-2": "abcd",
  "ap-northeast-3": "abc",
  "ca-central-1": "abd",
  "ca-west-1": "abc",
  "eu-central-1": "abc",
  "eu-central-2": "abc",
  "eu-west-1": "abc",
  "eu-west-2": "abc",
  "eu-west-3": "abc",
  "eu-south-1": "abc",
  "eu-south-2": "abc",
  "eu-north-1": "abc",
  "il-central-1": "abc",
  "me-south-1": "abc",
  "me-central-1": "abc",
  "mx-central-1": "abc",
  "sa-east-1": "abc",
  "us-gov-east-1": "abc",
  "us-gov-west-1": "abc",
  "cn-north-1": "abd",
  "cn-northwest-1": "abc",
};

/** Every region of the table. */
export const KNOWN_REGIONS: readonly string[] = Object.keys(REGION_AZ_LETTERS);

/** Every region @pulumi/aws knows (the table is a subset). */
export const PROVIDER_REGIONS: readonly string[] = Object.values(Region);

/** The AZ names of a known region, in order (undefined for an unknown region). */
export function knownAzs(region: string): string[] | undefined {
  const letters = REGION_AZ_LETTERS[region];
  return letters === undefined ? undefined : [...letters].map((l) => `${region}${l}`);
}

/**
 * Throws a ConfigError naming `aws:region` when `region` is not in the table, with the nearest
 * known region. `source` says where the value came from (`aws:region`, `AWS_REGION`).
 */
export function checkRegion(region: string, source = "aws:region"): void {
  if (REGION_AZ_LETTERS[region] !== undefined) return;
  const near = closest(region, KNOWN_REGIONS);
  throw problemAt(
    source,
    `${JSON.stringify(region)} is not a known AWS region`,
    `${near !== undefined ? `did you mean ${near}? ` : ""}use one of ${KNOWN_REGIONS.join(", ")} (if AWS opened it recently, add it to components/regions.ts)`,
  );
}
