// PostGraphile 5 (Amber preset) on DATABASE_URL's `links` schema, for bench/graphql.ts, in a process
// of its own. Prints `listening <url>` once it serves /graphql.
import http from 'node:http';
import pg from 'pg';
import { postgraphile } from 'postgraphile';
import { PostGraphileAmberPreset } from 'postgraphile/presets/amber';
import { makePgService } from 'postgraphile/adaptors/pg';
import { grafserv } from 'postgraphile/grafserv/node';

// PostGraphile 5 (grafast) calls Promise.withResolvers, which Node 20 lacks (Node >= 22 has it).
Promise.withResolvers ??= function withResolvers() {
  let resolve, reject;
  const promise = new Promise((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
};

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 20 });
pool.on('error', () => undefined);
const pgl = postgraphile({
  extends: [PostGraphileAmberPreset],
  pgServices: [makePgService({ pool, schemas: ['links'] })],
  grafserv: { graphqlPath: '/graphql', watch: false },
});
const serv = pgl.createServ(grafserv);
const server = http.createServer();
await serv.addTo(server);
server.listen(0, '127.0.0.1', () => console.log(`listening http://127.0.0.1:${server.address().port}/graphql`));
process.on('SIGTERM', () => {
  server.close();
  void serv.release().then(() => pool.end()).then(() => process.exit(0));
});
