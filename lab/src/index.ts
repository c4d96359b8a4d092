/** Public surface of the Tollgate lab package. Filled by the local lab issue. */
export const LAB_NAMESPACE_PREFIX = "tg-lab";
