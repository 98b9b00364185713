import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * Why not "bind to port 0 and read it back": the kernel hands out port 0 binds from the same
 * ephemeral range (net.ipv4.ip_local_port_range, 32768–60999 on Linux) it uses for the source port
 * of every outgoing connection. Between our probe closing and the service binding, any client socket
 * on the machine — a test's HTTP request, a pg pool connection — may take that very port, and the
 * service dies with EADDRINUSE (seen in CI: a gateway on 127.0.0.1:33345). Ports below the
 * ephemeral range are never picked for outgoing connections, so only another listener can take
 * them; and listeners started by our own concurrent test files are kept apart by a reservation
 * file per port (O_EXCL create), so two test processes never pick the same port.
 */
const RESERVATIONS = path.join(os.tmpdir(), 'linkport-port-reservations');
/** A reservation older than this is from a finished run and may be reused. */
const RESERVATION_TTL_MS = 2 * 60 * 60 * 1000;
const LOW = 10_000;
/**
 * And above 20000 live the fixed ports a developer hands out by hand (`npm run topology` uses
 * 23000+, CONTRIBUTING.md suggests 20000+ for side-by-side stacks): 10,000 ports are plenty for the
 * dozen each test stack takes.
 */
const HIGH = 20_000;

function ephemeralStart(): number {
  try {
    const [lo] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    const n = Number(lo);
    if (Number.isInteger(n) && n > LOW + 1000) return n;
  } catch {
    // not Linux: fall through to IANA's dynamic range start, what macOS and Windows use
  }
  return 32_768;
}

function reserve(port: number): boolean {
  try {
    fs.mkdirSync(RESERVATIONS, { recursive: true, mode: 0o1777 });
  } catch {
    return true; // cannot keep reservations (read-only tmp): the bind check alone still applies
  }
  const file = path.join(RESERVATIONS, String(port));
  try {
    fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
    return true;
  } catch {
    try {
      if (Date.now() - fs.statSync(file).mtimeMs > RESERVATION_TTL_MS) {
        fs.writeFileSync(file, String(process.pid));
        return true;
      }
    } catch {
      // raced with another process' cleanup: treat as taken
    }
    return false;
  }
}

function canBind(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** The ports of `ports` that something already listens on (or that cannot be bound), for a clear start-up error. */
export async function portsInUse(ports: readonly number[], host = '127.0.0.1'): Promise<number[]> {
  const taken: number[] = [];
  for (const port of ports) if (!(await canBind(port, host))) taken.push(port);
  return taken;
}

/** A free loopback port below the kernel's ephemeral range, reserved against our other test processes. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const high = Math.min(HIGH, ephemeralStart());
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = LOW + Math.floor(Math.random() * (high - LOW));
    if (!reserve(port)) continue;
    if (await canBind(port, host)) return port;
  }
  // Extremely crowded machine: fall back to the kernel's choice.
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves when something accepts TCP connections on host:port, or rejects after timeoutMs. */
export async function waitForPort(port: number, host = '127.0.0.1', timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = net.connect(port, host);
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
