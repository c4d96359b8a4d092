/** Public surface of the Tollgate policy package. Filled by the policy pack issue. */
export const POLICY_PACK_NAME = "tollgate";
