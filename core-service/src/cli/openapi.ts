/** `npm run openapi -w @linkport/core-service`: regenerates the committed core-service/openapi.json. */
import { OPENAPI_FILE, writeOpenApi } from '../openapi.ts';

await writeOpenApi();
console.log(`wrote ${OPENAPI_FILE}`);
