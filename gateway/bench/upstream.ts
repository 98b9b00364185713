/** The trivial upstream of the benchmark: 200 "hello world" on PORT (a child process of its own). */
import http from 'node:http';

const body = Buffer.from('hello world');
http
  .createServer((req, res) => {
    req.resume();
    if (req.url?.startsWith('/v1/core/auth/verify')) {
      res.writeHead(200, { 'X-User-Id': 'bench', 'X-User-Role': 'user', 'X-Auth-Method': 'jwt', 'X-Auth-Scopes': '', Authorization: 'Bearer bench' });
      res.end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
    res.end(body);
  })
  .listen(Number(process.env.PORT), '127.0.0.1', () => process.send?.('ready'));
