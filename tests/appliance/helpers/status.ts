import type { DatapathStatus, EndpointStatus } from "@tollgate/appliance";

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
