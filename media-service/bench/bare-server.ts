// The baseline: a bare Fastify route at the same path answering a fixed 201 JSON of the same size
// class, with JSON body parsing — what Fastify alone costs, with no auth, database or signing.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
const answer = JSON.stringify({ id: '00000000-0000-4000-8000-000000000000', upload: { method: 'PUT', url: `http://127.0.0.1/${'x'.repeat(600)}` } });
app.post('/v1/media/uploads', async (_req, reply) => reply.code(201).header('content-type', 'application/json').send(answer));
await app.listen({ host: '127.0.0.1', port: 0 });
const addr = app.server.address();
console.log(`LISTENING ${typeof addr === 'object' && addr ? addr.port : 0}`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
