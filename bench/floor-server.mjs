// The floor the API is measured against: a bare Fastify server answering with fixed JSON bodies of
// the same size as the real responses, no logging, no database, no auth.
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';
import multipart from '@fastify/multipart';

// Parsed once, serialised on every request, as any JSON route does.
const getBody = JSON.parse(readFileSync(process.env.FLOOR_GET_BODY, 'utf8'));
const postBody = JSON.parse(readFileSync(process.env.FLOOR_POST_BODY, 'utf8'));
const app = Fastify({ logger: false });
app.get('/health', async () => ({ status: 'ok' }));
app.get('/floor', async () => getBody);
app.post('/floor', async () => postBody);
// An upload read into memory, nothing done with it: what receiving a small photo costs at the least.
await app.register(multipart);
app.post('/floor-upload', async (request) => {
  for await (const part of request.parts()) if (part.type === 'file') await part.toBuffer();
  return postBody;
});
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT) });
