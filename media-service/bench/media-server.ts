// The media service as the benchmark runs it: the real buildApp on port 0, config from env.
import { buildApp } from '../src/app.ts';
import { loadMediaConfig } from '../src/config.ts';

const app = await buildApp(loadMediaConfig());
await app.listen({ host: '127.0.0.1', port: 0 });
const addr = app.server.address();
console.log(`LISTENING ${typeof addr === 'object' && addr ? addr.port : 0}`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
