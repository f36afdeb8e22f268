import path from "node:path";
import { fileURLToPath } from "node:url";

/** What every benchmark needs: where things are, its flags, and reproducible randomness. */
export const repo = fileURLToPath(new URL("../", import.meta.url));
export const lampBin = path.join(repo, "bin/lamp.js");
/** Debian's aws-cli v2 (`scripts/setup.sh --bench`); another `aws` may come first on PATH. */
export const awsCli = "/usr/bin/aws";

/** `--name N` from the command line, or the fallback. */
export function flag(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
}

/** mulberry32: the same seed gives the same sequence, so every run works on the same bytes. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
