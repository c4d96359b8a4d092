/**
 * The Tollgate policy pack. This module is the only one that constructs the PolicyPack (its
 * constructor starts the analyzer gRPC server); `pulumi preview --policy-pack policy` loads it
 * through the package entry (./entry). Everything else imports ./lib.
 */
import { PolicyPack } from "@pulumi/policy/policy";
import { POLICY_PACK_NAME, tollgatePolicies } from "./lib";

new PolicyPack(POLICY_PACK_NAME, {
  policies: tollgatePolicies,
  enforcementLevel: "advisory",
  description:
    "Tollgate: GWLB routing invariants (follow the packet), GWLB settings, least-privilege IAM and appliance exposure.",
  displayName: "Tollgate GWLB inspection",
  provider: "aws",
  tags: ["aws", "gwlb", "routing", "iam"],
});
