import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { tagsFor } from "../common";
import type { EndpointServiceRef } from "../gwlbe";
import { sectionArgs } from "../schema/parse";
import { endpointServiceSchema } from "../schema/stack";
import { EndpointServiceArgs, resolveEndpointServiceArgs } from "./args";

export * from "./args";

/** What the program supplies besides the `tollgate:endpointService` settings. */
export interface EndpointServiceWiring {
  /** ARN of the Gateway Load Balancer to expose. Required. */
  readonly gatewayLoadBalancerArn: pulumi.Input<string>;
  /** Tags on every resource. Defaults to none. */
  readonly tags?: Record<string, string>;
}

/** {@link EndpointServiceArgs} (`tollgate:endpointService`), resolved by the component, plus the wiring. */
export interface EndpointServiceComponentArgs extends EndpointServiceArgs, EndpointServiceWiring {
  /** This account's id (the default allowed principal). Required. */
  readonly accountId: string;
  /** AWS partition, e.g. `aws`. Defaults to `aws`. */
  readonly partition?: string;
  /** Offer IPv6 as well as IPv4. Defaults to false. */
  readonly ipv6?: boolean;
}

/** VPC endpoint service (PrivateLink) in front of the Gateway Load Balancer. */
export class EndpointService extends pulumi.ComponentResource {
  readonly serviceId: pulumi.Output<string>;
  readonly serviceName: pulumi.Output<string>;
  readonly acceptanceRequired: boolean;

  constructor(
    name: string,
    args: EndpointServiceComponentArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("tollgate:endpointService:EndpointService", name, {}, opts);
    const s = resolveEndpointServiceArgs(
      sectionArgs(endpointServiceSchema, args),
      args.accountId,
      args.partition ?? "aws",
      args.ipv6 ?? false,
    );
    const service = new aws.ec2.VpcEndpointService(
      `${name}-service`,
      {
        gatewayLoadBalancerArns: [args.gatewayLoadBalancerArn],
        acceptanceRequired: s.acceptanceRequired,
        allowedPrincipals: [...s.allowedPrincipals],
        supportedIpAddressTypes: s.ipv6 ? ["ipv4", "ipv6"] : ["ipv4"],
        tags: tagsFor(args.tags, `${name}-service`, "endpoint-service"),
      },
      { parent: this },
    );
    this.serviceId = service.id;
    this.serviceName = service.serviceName;
    this.acceptanceRequired = s.acceptanceRequired;
    this.registerOutputs({ serviceId: this.serviceId, serviceName: this.serviceName });
  }

  /** What the GWLB endpoints of {@link InspectedVpc} and {@link Egress} connect to. */
  ref(): EndpointServiceRef {
    return {
      serviceName: this.serviceName,
      serviceId: this.serviceId,
      acceptanceRequired: this.acceptanceRequired,
    };
  }
}
