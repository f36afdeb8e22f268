import { createRequire } from "node:module";
import type * as S3 from "@aws-sdk/client-s3";

/**
 * The S3 client and commands, loaded with require(). The SDK is CommonJS: an ESM `import` of it
 * first runs Node's CommonJS export scanner over the package's megabyte of code to find its
 * names, which took a no-op sync-assets 40-250 ms more than require() (bench/sync-assets.ts).
 * Types still come from the package itself.
 */
export const s3Sdk = createRequire(import.meta.url)("@aws-sdk/client-s3") as typeof S3;
