// s3rver in a child process for the tests: its filesystem errors cannot crash the test runner,
// and it runs with OpenSSL's legacy provider, which its DES continuation tokens need (without
// it, any listing longer than one page fails on Node 17+). Prints its port, serves until its
// stdin closes (the test process ended, however it ended) or it gets SIGTERM.
import { createRequire } from "node:module";

const S3rver = createRequire(import.meta.url)("s3rver");
const [directory] = process.argv.slice(2);
process.on("uncaughtException", (error) => process.stderr.write(`s3rver: ${error.message}\n`));
const server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory, vhostBuckets: false });
const { port } = await server.run();
process.stdout.write(`${port}\n`);
const stop = () => server.close().finally(() => process.exit(0));
process.stdin.on("end", stop).resume();
process.on("SIGTERM", stop);
