// A local S3-compatible server (npm s3rver) in its own process, so the clients being measured
// do not share its event loop. Prints its port on stdout, then serves until killed.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const S3rver = require("s3rver");
const [directory, ...buckets] = process.argv.slice(2);
// s3rver throws from stream callbacks on filesystem errors; keep serving the other requests.
process.on("uncaughtException", (error) => console.error(`s3rver: ${error.message}`));
const server = new S3rver({ address: "127.0.0.1", port: 0, silent: !process.env.BENCH_S3RVER_LOG, directory, vhostBuckets: false, configureBuckets: buckets.map((name) => ({ name })) });
const { port } = await server.run();
process.stdout.write(`${port}\n`);
process.on("SIGTERM", () => server.close().finally(() => process.exit(0)));
