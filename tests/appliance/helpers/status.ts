import type {
  DatapathStatus,
  EndpointStatus,
  KernelFlowStatus,
  KernelPathStatus,
} from "@tollgate/appliance";

/** A running, bound data path that has seen no traffic yet. */
export function idleStatus(endpoints: readonly EndpointStatus[] = []): DatapathStatus {
  return {
    running: true,
    socketBound: true,
    endpoints,
    flows: 0,
    idleMs: undefined,
    counters: {
      rxDatagrams: 0,
      rxBytes: 0,
      tunTxPackets: 0,
      tunRxPackets: 0,
      txDatagrams: 0,
      txBytes: 0,
      drops: {},
    },
  };
}

/** The kernel path's status (one uplink, a flow map of `flowCapacity`) with these flow figures. */
export function kernelStatus(flowCapacity: number, flows?: KernelFlowStatus): KernelPathStatus {
  return {
    uplinks: ["eth0"],
    detached: [],
    puntedForward: 0,
    puntedReturn: 0,
    flowCapacity,
    canaryDecapsulated: 0,
    canaryEncapsulated: 0,
    ...(flows ? { flows } : {}),
  };
}
