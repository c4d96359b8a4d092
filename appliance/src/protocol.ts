/**
 * GWLB protocol constants, defined once: the appliance, the stack (`components/`), the lab and the
 * tests import them from `@tollgate/appliance`.
 */

/** UDP port GENEVE uses (IANA); the only port a GWLB sends to targets on. */
export const GENEVE_PORT = 6081;
/** Largest packet a GWLB carries (inner packet, before GENEVE encapsulation). */
export const GWLB_MTU = 8500;
/** GWLB idle timeout of TCP flows unless the listener sets `tcpIdleTimeoutSeconds` (AWS default). */
export const GWLB_TCP_IDLE_TIMEOUT_SECONDS = 350;
/** GWLB idle timeout of non-TCP flows (UDP, ICMP, ...), fixed by AWS. */
export const GWLB_OTHER_IDLE_TIMEOUT_SECONDS = 120;
