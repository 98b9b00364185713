// (a) The ceiling: bare node:http answering a fixed 302, nothing else.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const server = http.createServer({ keepAliveTimeout: 65_000 }, (_req, res) => {
  res.writeHead(302, { Location: 'https://example.com/landing', 'Cache-Control': 'private, no-store', 'Content-Length': '0' });
  res.end();
});
server.listen(0, '127.0.0.1', () => console.log(`LISTENING ${(server.address() as AddressInfo).port}`));
process.on('SIGTERM', () => {
  const cpu = process.cpuUsage();
  console.log(`"cpuUs":${cpu.user + cpu.system}`);
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
