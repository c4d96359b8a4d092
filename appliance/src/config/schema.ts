/**
 * Schema of the YAML configuration file (`--config FILE`). Keys are camelCase; every key is
 * optional and unknown keys are errors (a typo must not be silently ignored).
 *
 * ```yaml
 * listen: { address: 0.0.0.0, port: 6081 }
 * socketBufferBytes: 67108864
 * batchSize: 64
 * rxCoalesceUs: 100               # microseconds; 0 = off
 * mtu: 8500
 * maxEndpoints: 4096
 * endpointIdleTimeout: 0          # seconds, -t
 * flows:
 *   maxEntries: 262144
 *   idleTimeout: { tcp: 350, udp: 120, other: 120 }   # seconds, -i sets tcp
 * hold: { timeout: 3, maxPackets: 256, maxBytes: 1048576 }   # new endpoints' first packets
 * hooks:
 *   create: /usr/local/bin/tunnel-hook.sh   # -c; a command string or an argv list
 *   destroy: [/usr/local/bin/tunnel-hook.sh]  # -r
 *   timeout: 30                   # seconds
 * health:
 *   port: 8080                    # -p
 *   address: "::"
 *   format: text                  # or json (-j)
 *   detailed: true                # false = status code only (-s)
 *   window: 10                    # seconds
 *   grace: 10                     # seconds a new endpoint gets to pass its first canary
 *   verifyInterval: 5             # seconds between rule engine readiness checks
 *   canary: { interval: 1, failures: 3 }   # probe period (s); lost in a row = failed
 * rpFilter: { manage: true, global: true, interval: 5 }
 * rules: /etc/tollgate/rules.yaml
 * externalForwarding: false       # true: no rules/hook, something else forwards gwi-X -> gwo-X
 * gwlbCidrs: [10.0.1.0/28]         # accept GENEVE only from these sources (the GWLB's subnets)
 * logLevel: info
 * threads: { udp: 2, udpAffinity: "0-1", tun: 2, tunAffinity: "0-1" }
 * ```
 */
import { z } from "zod";
import { LOG_LEVELS } from "./config";
import { ipv4CidrProblem } from "./cidr";

const port = z.number().int().min(1).max(65535);
const seconds = z
  .number()
  .positive()
  .max(86_400 * 365);
const command = z.union([z.string().min(1), z.array(z.string()).min(1)]);
const affinity = z.union([z.string(), z.number().int().min(0)]);

export const configFileSchema = z
  .object({
    listen: z
      .object({ address: z.string().min(1).optional(), port: port.optional() })
      .strict()
      .optional(),
    socketBufferBytes: z
      .number()
      .int()
      .min(65536)
      .max(2 ** 31 - 1)
      .optional(),
    batchSize: z.number().int().min(1).max(1024).optional(),
    rxCoalesceUs: z.number().int().min(0).max(10000).optional(),
    mtu: z.number().int().min(576).max(9001).optional(),
    maxEndpoints: z.number().int().min(1).max(65535).optional(),
    endpointIdleTimeout: z
      .number()
      .min(0)
      .max(86_400 * 365)
      .optional(),
    flows: z
      .object({
        maxEntries: z.number().int().min(1).max(100_000_000).optional(),
        idleTimeout: z
          .object({ tcp: seconds.optional(), udp: seconds.optional(), other: seconds.optional() })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    hold: z
      .object({
        timeout: z.number().min(0).max(600).optional(),
        maxPackets: z.number().int().min(1).max(65536).optional(),
        maxBytes: z
          .number()
          .int()
          .min(1)
          .max(2 ** 30)
          .optional(),
      })
      .strict()
      .optional(),
    hooks: z
      .object({
        create: command.optional(),
        destroy: command.optional(),
        timeout: seconds.optional(),
      })
      .strict()
      .optional(),
    health: z
      .object({
        port: port.optional(),
        address: z.string().min(1).optional(),
        format: z.enum(["text", "json"]).optional(),
        detailed: z.boolean().optional(),
        window: seconds.optional(),
        grace: z.number().min(0).max(3600).optional(),
        verifyInterval: z.number().min(1).max(3600).optional(),
        canary: z
          .object({
            interval: z.number().min(0.1).max(60).optional(),
            failures: z.number().int().min(1).max(100).optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    rpFilter: z
      .object({
        manage: z.boolean().optional(),
        global: z.boolean().optional(),
        interval: z.number().min(0).max(3600).optional(),
      })
      .strict()
      .optional(),
    rules: z.string().min(1).optional(),
    externalForwarding: z.boolean().optional(),
    gwlbCidrs: z
      .array(
        z.string().superRefine((text, ctx) => {
          const problem = ipv4CidrProblem(text);
          if (problem) ctx.addIssue({ code: "custom", message: problem });
        }),
      )
      .optional(),
    logLevel: z.enum(LOG_LEVELS).optional(),
    threads: z
      .object({
        udp: z.number().int().min(1).max(1024).optional(),
        udpAffinity: affinity.optional(),
        tun: z.number().int().min(1).max(1024).optional(),
        tunAffinity: affinity.optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type ConfigFile = z.infer<typeof configFileSchema>;
