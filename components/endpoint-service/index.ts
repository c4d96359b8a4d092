import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { tagsFor } from "../common";
import { ResolvedEndpointServiceArgs } from "./args";

export * from "./args";

export interface EndpointServiceComponentArgs {
  readonly settings: ResolvedEndpointServiceArgs;
  readonly gatewayLoadBalancerArn: pulumi.Input<string>;
  readonly tags?: Readonly<Record<string, string>>;
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
    const s = args.settings;
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
}
