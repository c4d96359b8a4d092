import type { EndpointListener } from "../endpoint-lifecycle";

export interface RulesListenerOptions {
  /** Path of the rules file (YAML). */
  readonly file: string;
}

/**
 * Applies an endpoint's rules when the daemon creates its interfaces and removes them on
 * destroy; reloads on SIGHUP or file change. Filled by the rule engine issue.
 */
export function createRulesListener(_options: RulesListenerOptions): EndpointListener {
  return {
    async created() {},
    async destroyed() {},
  };
}
