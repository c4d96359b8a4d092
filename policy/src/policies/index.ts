/** The Tollgate policies, in evaluation order. Importing this module starts nothing. */
import type { Policies } from "@pulumi/policy/policy";
import { exposureApplianceSecurityGroup } from "./exposure-appliance-security-group";
import { exposureEndpointServicePrincipals } from "./exposure-endpoint-service-principals";
import { exposureLaunchTemplateEncryptedVolumes } from "./exposure-launch-template-encrypted-volumes";
import { exposureLaunchTemplateImdsv2 } from "./exposure-launch-template-imdsv2";
import { exposureLaunchTemplateNoPublicIp } from "./exposure-launch-template-no-public-ip";
import { exposureNoOpenIngress } from "./exposure-no-open-ingress";
import { gwlbBackingChain } from "./gwlb-backing-chain";
import { gwlbHealthCheck } from "./gwlb-health-check";
import { gwlbIdleTimeoutFiveTuple } from "./gwlb-idle-timeout-five-tuple";
import { gwlbListenerIdleTimeout } from "./gwlb-listener-idle-timeout";
import { gwlbStickiness } from "./gwlb-stickiness";
import { gwlbStickinessApplianceMode } from "./gwlb-stickiness-appliance-mode";
import { gwlbTargetFailover } from "./gwlb-target-failover";
import { gwlbTargetGroupGeneve } from "./gwlb-target-group-geneve";
import { gwlbZonalFleet } from "./gwlb-zonal-fleet";
import { iamManagedPolicyAllowlist } from "./iam-managed-policy-allowlist";
import { iamNoPassroleWildcard } from "./iam-no-passrole-wildcard";
import { iamNoWildcardAction } from "./iam-no-wildcard-action";
import { iamNoWildcardResourceMutation } from "./iam-no-wildcard-resource-mutation";
import { routingApplianceMode } from "./routing-appliance-mode";
import { routingAzCoverage } from "./routing-az-coverage";
import { routingDefaultViaEndpoint } from "./routing-default-via-endpoint";
import { routingEdgeTable } from "./routing-edge-table";
import { routingEgressTgw } from "./routing-egress-tgw";
import { routingEndpointSubnetNoLoop } from "./routing-endpoint-subnet-no-loop";
import { routingFollowThePacket } from "./routing-follow-the-packet";
import { vpcFlowLogs } from "./vpc-flow-logs";

export {
  exposureApplianceSecurityGroup,
  exposureEndpointServicePrincipals,
  exposureLaunchTemplateEncryptedVolumes,
  exposureLaunchTemplateImdsv2,
  exposureLaunchTemplateNoPublicIp,
  exposureNoOpenIngress,
  gwlbBackingChain,
  gwlbHealthCheck,
  gwlbIdleTimeoutFiveTuple,
  gwlbListenerIdleTimeout,
  gwlbStickiness,
  gwlbStickinessApplianceMode,
  gwlbTargetFailover,
  gwlbTargetGroupGeneve,
  gwlbZonalFleet,
  iamManagedPolicyAllowlist,
  iamNoPassroleWildcard,
  iamNoWildcardAction,
  iamNoWildcardResourceMutation,
  routingApplianceMode,
  routingAzCoverage,
  routingDefaultViaEndpoint,
  routingEdgeTable,
  routingEgressTgw,
  routingEndpointSubnetNoLoop,
  routingFollowThePacket,
  vpcFlowLogs,
};

export const tollgatePolicies: Policies = [
  routingDefaultViaEndpoint,
  routingAzCoverage,
  routingEdgeTable,
  routingEndpointSubnetNoLoop,
  routingEgressTgw,
  routingApplianceMode,
  routingFollowThePacket,
  gwlbBackingChain,
  gwlbZonalFleet,
  gwlbStickinessApplianceMode,
  gwlbTargetGroupGeneve,
  gwlbHealthCheck,
  gwlbTargetFailover,
  gwlbStickiness,
  gwlbListenerIdleTimeout,
  gwlbIdleTimeoutFiveTuple,
  iamNoWildcardAction,
  iamNoWildcardResourceMutation,
  iamNoPassroleWildcard,
  iamManagedPolicyAllowlist,
  exposureNoOpenIngress,
  exposureApplianceSecurityGroup,
  exposureLaunchTemplateImdsv2,
  exposureLaunchTemplateNoPublicIp,
  exposureLaunchTemplateEncryptedVolumes,
  exposureEndpointServicePrincipals,
  vpcFlowLogs,
];
