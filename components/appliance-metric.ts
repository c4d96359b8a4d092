/**
 * The fleet's scaling signal, shared by the CloudWatch agent configuration that publishes it
 * (`components/userdata.ts`) and the target-tracking policy that consumes it
 * (`components/inspection/fleet.ts`). One definition so the two cannot drift.
 *
 * The appliance's data path is one thread: instance CPU averaged over all vCPUs understates its
 * load (one saturated core on a 2-vCPU instance reads 50%). The agent's procstat plugin measures
 * the `tollgate` process's CPU as a percentage of one core, which is what saturates first.
 */
export const DATAPATH_CPU_METRIC = {
  /** CloudWatch namespace the agent publishes into. */
  namespace: "Tollgate",
  /** Metric name (procstat `cpu_usage` of the daemon, renamed). Unit: Percent of one core. */
  name: "DataPathCpuPercent",
  /** The only dimension kept (agent `aggregation_dimensions`), so the policy can average per ASG. */
  dimension: "AutoScalingGroupName",
} as const;
