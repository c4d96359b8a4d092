import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** Outputs of the endpoint service that consumers need. */
export interface EndpointServiceRef {
  readonly serviceName: pulumi.Input<string>;
  readonly serviceId: pulumi.Input<string>;
  /** When true, Tollgate accepts its own endpoint connections. */
  readonly acceptanceRequired: boolean;
}

export interface GwlbEndpoint {
  readonly endpoint: aws.ec2.VpcEndpoint;
  /** Resources routes through the endpoint must wait for (the endpoint, and its acceptance). */
  readonly ready: pulumi.Resource[];
}

/** One Gateway Load Balancer endpoint in one subnet (= one AZ), accepted when the service requires it. */
export function gwlbEndpoint(
  parent: pulumi.Resource,
  resourceName: string,
  vpcId: pulumi.Input<string>,
  subnetId: pulumi.Input<string>,
  service: EndpointServiceRef,
  ipv6: boolean,
  tags: Record<string, string>,
): GwlbEndpoint {
  const endpoint = new aws.ec2.VpcEndpoint(
    resourceName,
    {
      vpcId,
      serviceName: service.serviceName,
      vpcEndpointType: "GatewayLoadBalancer",
      subnetIds: [subnetId],
      ipAddressType: ipv6 ? "dualstack" : "ipv4",
      tags,
    },
    { parent },
  );
  const ready: pulumi.Resource[] = [endpoint];
  if (service.acceptanceRequired) {
    ready.push(
      new aws.ec2.VpcEndpointConnectionAccepter(
        `${resourceName}-accept`,
        { vpcEndpointServiceId: service.serviceId, vpcEndpointId: endpoint.id },
        { parent },
      ),
    );
  }
  return { endpoint, ready };
}
