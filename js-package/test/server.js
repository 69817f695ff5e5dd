// A static file server on 127.0.0.1 for browser tests and the browser
// example: serves the package directory, plus extra in-memory routes.

import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const packageDir = fileURLToPath(new URL('..', import.meta.url));

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.snap': 'application/octet-stream',
};

/**
 * Starts a server on 127.0.0.1 at a free port. `routes` maps exact paths to
 * `{ type, body }`; other paths are files under the package directory.
 * Returns the base URL and a `close()` function.
 */
export async function startServer(routes = {}) {
  const server = createServer(async (request, response) => {
    const path = decodeURIComponent(new URL(request.url, 'http://127.0.0.1').pathname);
    const route = routes[path];
    if (route) {
      response.writeHead(200, { 'content-type': route.type });
      response.end(route.body);
      return;
    }
    const file = normalize(join(packageDir, path));
    if (!file.startsWith(packageDir) || file.includes(`${sep}node_modules${sep}`)) {
      response.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(file);
      response.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
      response.end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
