/**
 * Contract between the daemon (which creates and destroys per-endpoint tun pairs) and anything
 * that must act on an endpoint's interfaces (the rule engine, hook scripts).
 */
export interface EndpointInfo {
  /** GWLB endpoint id (GENEVE option class 0x0108 type 1), as an unsigned 64-bit value. */
  readonly id: bigint;
  /** The id in lower-case hex, zero-padded to 17 digits: `vpce-${idHex17}` names the endpoint. */
  readonly idHex17: string;
  /** Ingress tun interface name, `gwi-<base60 id>`. */
  readonly gwi: string;
  /** Egress tun interface name, `gwo-<base60 id>`. */
  readonly gwo: string;
}

/** Called by the daemon after an endpoint's interfaces are up, and before they are removed. */
export interface EndpointListener {
  created(endpoint: EndpointInfo): Promise<void>;
  destroyed(endpoint: EndpointInfo): Promise<void>;
  /**
   * Called instead of created() for an endpoint a restarted daemon took over (its interfaces
   * and their setup outlived the previous daemon). Listeners whose state is re-applied at every
   * start (rp_filter, rules) implement it; the CREATE hook does not (it already ran).
   */
  adopted?(endpoint: EndpointInfo): Promise<void>;
  /** Stop watching files, release resources. */
  close?(): Promise<void>;
}
