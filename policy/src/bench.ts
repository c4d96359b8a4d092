/**
 * `npm run bench:policy`: the whole Tollgate pack over synthetic stacks of 1,000, 5,000 and
 * 20,000 resources (repeated north-south inspected VPCs, 2 AZs each, with flow logs, all served by
 * one GWLB whose backing chain the pack follows: listener, target group, a fleet per AZ),
 * reporting times and growth ratios. A benchmark, not a test: it asserts nothing.
 */
import { cpus, loadavg } from "node:os";
import { runPolicies, StateResource, tollgatePolicies } from "./lib";
import { PATH_FIELDS } from "./policies/vpc-flow-logs";

const P = "urn:pulumi:bench::tollgate::";
const urn = (type: string, name: string): string => `${P}${type}::${name}`;

function resource(
  out: StateResource[],
  type: string,
  name: string,
  id: string,
  props: Record<string, unknown>,
  deps: Record<string, StateResource | undefined> = {},
): StateResource {
  const propertyDependencies: Record<string, string[]> = {};
  for (const [k, d] of Object.entries(deps)) if (d) propertyDependencies[k] = [d.urn];
  const r: StateResource = {
    urn: urn(type, name),
    type,
    custom: true,
    id,
    inputs: props,
    outputs: { ...props, id },
    dependencies: Object.values(propertyDependencies).flat(),
    propertyDependencies,
  };
  out.push(r);
  return r;
}

/** One inspected VPC (25 resources): workload + endpoint subnet per AZ, edge route table, flow log. */
function inspectedVpc(out: StateResource[], i: number, service: StateResource): void {
  const n = `v${i}`;
  const b1 = Math.floor(i / 256) % 256;
  const b2 = i % 256;
  const cidr = `10.${b1}.${b2}.0/24`;
  const vpc = resource(out, "aws:ec2/vpc:Vpc", `${n}-vpc`, `vpc-${n}`, { cidrBlock: cidr });
  resource(
    out,
    "aws:ec2/flowLog:FlowLog",
    `${n}-flow-log`,
    `fl-${n}`,
    { vpcId: vpc.id, logFormat: FLOW_LOG_FORMAT },
    { vpcId: vpc },
  );
  const igw = resource(
    out,
    "aws:ec2/internetGateway:InternetGateway",
    `${n}-igw`,
    `igw-${n}`,
    { vpcId: vpc.id },
    { vpcId: vpc },
  );
  const edge = resource(
    out,
    "aws:ec2/routeTable:RouteTable",
    `${n}-edge-rt`,
    `rtb-${n}-edge`,
    { vpcId: vpc.id },
    { vpcId: vpc },
  );
  resource(
    out,
    "aws:ec2/routeTableAssociation:RouteTableAssociation",
    `${n}-edge-rta`,
    `rtbassoc-${n}-edge`,
    { gatewayId: igw.id, routeTableId: edge.id },
    { gatewayId: igw, routeTableId: edge },
  );
  for (const [k, az] of ["a", "b"].entries()) {
    const zone = `us-east-1${az}`;
    const w = resource(
      out,
      "aws:ec2/subnet:Subnet",
      `${n}-workload-${az}`,
      `subnet-${n}-w${az}`,
      { vpcId: vpc.id, availabilityZone: zone, cidrBlock: `10.${b1}.${b2}.${k * 64}/26` },
      { vpcId: vpc },
    );
    const e = resource(
      out,
      "aws:ec2/subnet:Subnet",
      `${n}-endpoint-${az}`,
      `subnet-${n}-e${az}`,
      { vpcId: vpc.id, availabilityZone: zone, cidrBlock: `10.${b1}.${b2}.${128 + k * 16}/28` },
      { vpcId: vpc },
    );
    const gwlbe = resource(
      out,
      "aws:ec2/vpcEndpoint:VpcEndpoint",
      `${n}-gwlbe-${az}`,
      `vpce-${n}-${az}`,
      {
        vpcId: vpc.id,
        vpcEndpointType: "GatewayLoadBalancer",
        subnetIds: [e.id],
        serviceName: service.outputs?.serviceName,
      },
      { vpcId: vpc, subnetIds: e, serviceName: service },
    );
    const wrt = resource(
      out,
      "aws:ec2/routeTable:RouteTable",
      `${n}-workload-rt-${az}`,
      `rtb-${n}-w${az}`,
      { vpcId: vpc.id },
      { vpcId: vpc },
    );
    const ert = resource(
      out,
      "aws:ec2/routeTable:RouteTable",
      `${n}-endpoint-rt-${az}`,
      `rtb-${n}-e${az}`,
      { vpcId: vpc.id },
      { vpcId: vpc },
    );
    resource(
      out,
      "aws:ec2/routeTableAssociation:RouteTableAssociation",
      `${n}-workload-rta-${az}`,
      `rtbassoc-${n}-w${az}`,
      { subnetId: w.id, routeTableId: wrt.id },
      { subnetId: w, routeTableId: wrt },
    );
    resource(
      out,
      "aws:ec2/routeTableAssociation:RouteTableAssociation",
      `${n}-endpoint-rta-${az}`,
      `rtbassoc-${n}-e${az}`,
      { subnetId: e.id, routeTableId: ert.id },
      { subnetId: e, routeTableId: ert },
    );
    resource(
      out,
      "aws:ec2/route:Route",
      `${n}-workload-default-${az}`,
      `r-${n}-w${az}`,
      { routeTableId: wrt.id, destinationCidrBlock: "0.0.0.0/0", vpcEndpointId: gwlbe.id },
      { routeTableId: wrt, vpcEndpointId: gwlbe },
    );
    resource(
      out,
      "aws:ec2/route:Route",
      `${n}-endpoint-default-${az}`,
      `r-${n}-e${az}`,
      { routeTableId: ert.id, destinationCidrBlock: "0.0.0.0/0", gatewayId: igw.id },
      { routeTableId: ert, gatewayId: igw },
    );
    resource(
      out,
      "aws:ec2/route:Route",
      `${n}-edge-${az}`,
      `r-${n}-edge${az}`,
      {
        routeTableId: edge.id,
        destinationCidrBlock: `10.${b1}.${b2}.${k * 64}/26`,
        vpcEndpointId: gwlbe.id,
      },
      { routeTableId: edge, vpcEndpointId: gwlbe },
    );
  }
}

const FLOW_LOG_FORMAT = PATH_FIELDS.map((f) => `\${${f}}`).join(" ");

/**
 * The appliance side (22 resources): a VPC with a Gateway Load Balancer in two AZs, its listener,
 * GENEVE target group, endpoint service and one Auto Scaling group per AZ registered in the group.
 * Returns the endpoint service every inspected VPC's endpoints connect to.
 */
function fleet(out: StateResource[]): StateResource {
  const doc = JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: ["s3:GetObject"], Resource: ["arn:aws:s3:::b/k"] }],
  });
  const vpc = resource(out, "aws:ec2/vpc:Vpc", "fleet-vpc", "vpc-fleet", {
    cidrBlock: "172.16.0.0/16",
  });
  const subnets = ["a", "b"].map((az, k) =>
    resource(
      out,
      "aws:ec2/subnet:Subnet",
      `fleet-${az}`,
      `subnet-fleet-${az}`,
      { vpcId: vpc.id, availabilityZone: `us-east-1${az}`, cidrBlock: `172.16.${k}.0/24` },
      { vpcId: vpc },
    ),
  );
  const tg = resource(out, "aws:lb/targetGroup:TargetGroup", "tg", "tg-1", {
    arn: "arn:tg-1",
    protocol: "GENEVE",
    port: 6081,
    healthCheck: { enabled: true, port: "8080", protocol: "HTTP", path: "/healthz" },
    targetFailovers: [{ onDeregistration: "rebalance", onUnhealthy: "rebalance" }],
  });
  const lb = resource(out, "aws:lb/loadBalancer:LoadBalancer", "gwlb", "gwlb-1", {
    arn: "arn:gwlb-1",
    loadBalancerType: "gateway",
    subnets: subnets.map((x) => x.id),
  });
  (lb.propertyDependencies as Record<string, string[]>).subnets = subnets.map((x) => x.urn);
  resource(
    out,
    "aws:lb/listener:Listener",
    "listener",
    "l-1",
    {
      loadBalancerArn: "arn:gwlb-1",
      tcpIdleTimeoutSeconds: 350,
      defaultActions: [{ type: "forward", targetGroupArn: "arn:tg-1" }],
    },
    { loadBalancerArn: lb, defaultActions: tg },
  );
  const lt = resource(out, "aws:ec2/launchTemplate:LaunchTemplate", "lt", "lt-1", {
    metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 1 },
    blockDeviceMappings: [{ deviceName: "/dev/sda1", ebs: { encrypted: "true" } }],
  });
  for (const s of subnets) {
    resource(
      out,
      "aws:autoscaling/group:Group",
      `asg-${s.id}`,
      `asg-${s.id}`,
      {
        vpcZoneIdentifiers: [s.id],
        targetGroupArns: ["arn:tg-1"],
        minSize: 1,
        maxSize: 2,
        launchTemplate: { id: lt.id },
      },
      { vpcZoneIdentifiers: s, targetGroupArns: tg },
    );
  }
  resource(out, "aws:iam/rolePolicy:RolePolicy", "policy", "p-1", { policy: doc });
  return resource(
    out,
    "aws:ec2/vpcEndpointService:VpcEndpointService",
    "service",
    "vpce-svc-1",
    {
      serviceName: "com.amazonaws.vpce.us-east-1.vpce-svc-1",
      acceptanceRequired: true,
      gatewayLoadBalancerArns: ["arn:gwlb-1"],
    },
    { gatewayLoadBalancerArns: lb },
  );
}

/** A synthetic stack of about `n` resources. */
export function syntheticStack(n: number): StateResource[] {
  const out: StateResource[] = [];
  const service = fleet(out);
  for (let i = 0; out.length + 25 <= n; i++) inspectedVpc(out, i, service);
  return out;
}

async function time(resources: StateResource[]): Promise<{ ms: number; violations: number }> {
  let best = Infinity;
  let violations = 0;
  for (let i = 0; i < 5; i++) {
    const t0 = process.hrtime.bigint();
    const r = await runPolicies(resources);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    violations = r.violations.length;
    best = Math.min(best, ms);
  }
  return { ms: best, violations };
}

async function main(): Promise<void> {
  const sizes = [1000, 5000, 20000];
  const [load] = loadavg();
  console.log(
    `tollgate policy bench (node ${process.version}, ${cpus().length} cores, load ${load?.toFixed(2)})`,
  );
  await time(syntheticStack(500)); // warm-up (JIT)
  const rows: { n: number; ms: number; violations: number }[] = [];
  for (const size of sizes) {
    const stack = syntheticStack(size);
    const { ms, violations } = await time(stack);
    rows.push({ n: stack.length, ms, violations });
    console.log(
      `${String(stack.length).padStart(6)} resources: ${ms.toFixed(1).padStart(8)} ms  (${((ms * 1000) / stack.length).toFixed(1)} µs/resource, ${violations} violations, best of 5, ${tollgatePolicies.length} policies)`,
    );
  }
  const [a, b, c] = rows;
  if (a && b && c) {
    const r1 = b.ms / a.ms / (b.n / a.n);
    const r2 = c.ms / b.ms / (c.n / b.n);
    console.log(
      `growth: ${a.n}->${b.n}: x${(b.ms / a.ms).toFixed(2)} for x${(b.n / a.n).toFixed(2)} resources (normalized ${r1.toFixed(2)}; 1.00 = linear)`,
    );
    console.log(
      `growth: ${b.n}->${c.n}: x${(c.ms / b.ms).toFixed(2)} for x${(c.n / b.n).toFixed(2)} resources (normalized ${r2.toFixed(2)}; 1.00 = linear)`,
    );
    console.log(
      `target: ${b.n} resources in < 1000 ms -> ${b.ms < 1000 ? "met" : "NOT met"} (${b.ms.toFixed(0)} ms)`,
    );
  }
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(`bench:policy failed: ${(e as Error).message}`);
    process.exitCode = 1;
  });
}
