// Compiles schema/lamp.schema.json into a standalone validator (Ajv's generated code) at build
// time, so the CLI does not load Ajv and compile the schema on every start (~0.2-0.5 s).
// `npm run build` writes dist/project/lamp-schema-validator.cjs; src/project/config.ts uses it when
// present and compiles the schema at run time otherwise (running from sources, under vitest).
// Usage: node scripts/compile-lamp-schema.mjs [output file]
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const repo = fileURLToPath(new URL("../", import.meta.url));

/** The same options as config.ts's run-time compile: the two must accept, reject and default alike. */
export const ajvOptions = { allErrors: false, useDefaults: true, strict: false };

/** The validator's CommonJS source. The same schema and Ajv version give the same bytes. */
export function compileLampSchema(schemaFile = path.join(repo, "schema/lamp.schema.json")) {
  const Ajv = require("ajv");
  const standalone = require("ajv/dist/standalone").default;
  const ajv = new Ajv({ ...ajvOptions, code: { source: true } });
  const validate = ajv.compile(JSON.parse(readFileSync(schemaFile, "utf8")));
  return `// Generated from schema/lamp.schema.json by scripts/compile-lamp-schema.mjs (npm run build). Do not edit.\n${standalone(ajv, validate)}\n`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const output = path.resolve(process.argv[2] ?? path.join(repo, "dist/project/lamp-schema-validator.cjs"));
  const temporary = `${output}.${process.pid}.tmp`;
  writeFileSync(temporary, compileLampSchema());
  renameSync(temporary, output);
}
