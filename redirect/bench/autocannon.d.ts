// The slice of autocannon's API the benchmark uses (the package ships no types; @types/autocannon
// is not installed).
declare module 'autocannon' {
  namespace autocannon {
    interface Request {
      path?: string;
      [k: string]: unknown;
    }
    interface Options {
      url: string;
      connections?: number;
      duration?: number;
      headers?: Record<string, string>;
      requests?: { setupRequest?: (req: Request) => Request }[];
    }
    interface Result {
      requests: { average: number };
      latency: { p50: number; p99: number; average: number };
      errors: number;
      non2xx: number;
      statusCodeStats?: Record<string, { count: number }>;
    }
  }
  function autocannon(opts: autocannon.Options): Promise<autocannon.Result>;
  export default autocannon;
}
