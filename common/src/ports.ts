/**
 * The default port of each process (CONTRIBUTING.md "Ports and processes"): part of the contract
 * between the parts, so production code may use it. Development-only defaults (embedded database
 * URLs, local credentials) live in `@linkport/devstack`.
 */
export const defaultPorts = { gateway: 8080, core: 3001, media: 3002, hasura: 3003, redirect: 3004 } as const;
