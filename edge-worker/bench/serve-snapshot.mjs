// Serves one snapshot file at GET /v1/snapshot on 127.0.0.1, with the
// control plane's ETag and 304 behaviour, for the throughput benchmark.
//
// Usage: node serve-snapshot.mjs FILE REVISION PORT

import { readFileSync } from "node:fs";
import { createServer } from "node:http";

const [file, revision, port] = process.argv.slice(2);
if (!file || !revision || !port) {
  console.error("usage: node serve-snapshot.mjs FILE REVISION PORT");
  process.exit(2);
}
const bytes = readFileSync(file);
const etag = `"r${revision}"`;

createServer((req, res) => {
  if (req.headers["if-none-match"] === etag) {
    res.writeHead(304, { etag }).end();
    return;
  }
  res.writeHead(200, { "content-type": "application/octet-stream", etag }).end(bytes);
}).listen(Number(port), "127.0.0.1");
