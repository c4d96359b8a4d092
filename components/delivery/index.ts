import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { tagsFor } from "../common";
import { sectionArgs } from "../schema/parse";
import { deliverySchema } from "../schema/stack";
import { tlsOnlyBucketPolicy } from "../iam";
import type { FleetArtifacts } from "../inspection/fleet";
import type { Architecture } from "../inspection/fleet-args";
import { DeliveryArgs, resolveDeliveryArgs } from "./args";
import { ArtifactSource, artifactKey, releaseArtifactSource } from "./pack";

export * from "./args";
export * from "./pack";

/** What the program supplies besides the `tollgate:appliance` settings. */
export interface ApplianceDeliveryWiring {
  /** Produces the release and rules file. Defaults to `releaseArtifactSource()` (builds from the working directory). */
  readonly artifacts?: ArtifactSource;
  /** The fleet's instance architecture: the release built and uploaded. Defaults to `x86_64`. */
  readonly architecture?: Architecture;
  /** Tags on every resource. Defaults to none. */
  readonly tags?: Record<string, string>;
}

/** {@link DeliveryArgs} (`tollgate:appliance`), resolved by the component, plus the wiring. */
export interface ApplianceDeliveryArgs extends DeliveryArgs, ApplianceDeliveryWiring {}

/**
 * Private, encrypted S3 bucket holding the appliance release (components/release, for the fleet's
 * architecture) and the rules file. Object keys are content addressed, so changed content means
 * new keys (and a fleet instance refresh).
 */
export class ApplianceDelivery extends pulumi.ComponentResource {
  readonly bucketName: pulumi.Output<string>;
  readonly bucketArn: pulumi.Output<string>;
  readonly packageKey: pulumi.Output<string>;
  /** SHA-256 of the release (hex); the bootstrap checks it after download. */
  readonly packageSha256: pulumi.Output<string>;
  readonly packageObjectArn: pulumi.Output<string>;
  readonly rulesKey: string;
  readonly rulesSha256: string;
  readonly rulesObjectArn: pulumi.Output<string>;
  /** Customer managed key of the bucket, if any (readers need `kms:Decrypt` on it). */
  readonly bucketKmsKeyArn: string | undefined;

  constructor(name: string, args: ApplianceDeliveryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tollgate:delivery:ApplianceDelivery", name, {}, opts);
    const s = resolveDeliveryArgs(sectionArgs(deliverySchema, args));
    const artifacts = args.artifacts ?? releaseArtifactSource();
    const tags = (n: string): Record<string, string> => tagsFor(args.tags, n, "delivery");
    const p = { parent: this };

    const bucket = new aws.s3.Bucket(
      `${name}-bucket`,
      { forceDestroy: s.forceDestroyBucket, tags: tags(`${name}-bucket`) },
      p,
    );
    const pab = new aws.s3.BucketPublicAccessBlock(
      `${name}-public-access-block`,
      {
        bucket: bucket.id,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      },
      p,
    );
    const ownership = new aws.s3.BucketOwnershipControls(
      `${name}-ownership`,
      { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } },
      p,
    );
    const sse = new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-sse`,
      {
        bucket: bucket.id,
        rules: [
          {
            applyServerSideEncryptionByDefault: s.bucketKmsKeyArn
              ? { sseAlgorithm: "aws:kms", kmsMasterKeyId: s.bucketKmsKeyArn }
              : { sseAlgorithm: "AES256" },
            bucketKeyEnabled: s.bucketKmsKeyArn !== undefined,
          },
        ],
      },
      p,
    );
    const versioning = new aws.s3.BucketVersioning(
      `${name}-versioning`,
      { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } },
      p,
    );
    const policy = new aws.s3.BucketPolicy(
      `${name}-tls-only`,
      {
        bucket: bucket.id,
        policy: bucket.arn.apply((arn) => JSON.stringify(tlsOnlyBucketPolicy(arn))),
      },
      { parent: this, dependsOn: [pab] },
    );
    const ready = [pab, ownership, sse, versioning, policy];

    const release = pulumi.output(artifacts.release(s.packageDir, args.architecture ?? "x86_64"));
    this.packageKey = release.apply((a) => artifactKey("appliance", a));
    this.packageSha256 = release.apply((a) => a.sha256);
    const pkgObject = new aws.s3.BucketObjectv2(
      `${name}-package`,
      {
        bucket: bucket.id,
        key: this.packageKey,
        source: release.apply((a) => new pulumi.asset.FileAsset(a.path)),
        contentType: "application/gzip",
        tags: tags(`${name}-package`),
      },
      { parent: this, dependsOn: ready },
    );
    this.packageObjectArn = pulumi.interpolate`${bucket.arn}/${pkgObject.key}`;

    const rules = artifacts.rulesFile(s.rulesFile);
    this.rulesKey = artifactKey("rules", rules);
    this.rulesSha256 = rules.sha256;
    const rulesObject = new aws.s3.BucketObjectv2(
      `${name}-rules`,
      {
        bucket: bucket.id,
        key: this.rulesKey,
        source: new pulumi.asset.FileAsset(rules.path),
        contentType: "text/plain",
        tags: tags(`${name}-rules`),
      },
      { parent: this, dependsOn: ready },
    );
    this.rulesObjectArn = pulumi.interpolate`${bucket.arn}/${rulesObject.key}`;
    this.bucketKmsKeyArn = s.bucketKmsKeyArn;

    this.bucketName = bucket.id;
    this.bucketArn = bucket.arn;
    const { kmsKeyArns: _keys, ...objects } = this.fleetArtifacts();
    this.registerOutputs({ bucketArn: this.bucketArn, ...objects });
  }

  /** What the {@link Inspection} fleet reads: the delivered objects, their hashes and the key. */
  fleetArtifacts(): FleetArtifacts {
    return {
      bucketName: this.bucketName,
      packageKey: this.packageKey,
      packageSha256: this.packageSha256,
      packageObjectArn: this.packageObjectArn,
      rulesKey: this.rulesKey,
      rulesSha256: this.rulesSha256,
      rulesObjectArn: this.rulesObjectArn,
      kmsKeyArns: this.bucketKmsKeyArn ? [this.bucketKmsKeyArn] : [],
    };
  }
}
