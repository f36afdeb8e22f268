import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { seeded } from "./common.js";

/**
 * A Laravel-sized project: ~12,000 files, ~60 MB, mostly PHP source (compressible text) under
 * vendor/, plus some binary files (fonts, images) that barely compress. Generated from a seeded
 * generator so every run zips the same bytes.
 */
export interface TreeShape {
  phpFiles: number;
  binaryFiles: number;
}

export const laravelSized: TreeShape = { phpFiles: 11_900, binaryFiles: 100 };


const words = [
  "public", "function", "return", "$this", "->", "array", "string", "int", "null", "if", "else", "foreach", "as", "new",
  "static", "self", "class", "namespace", "use", "throw", "Exception", "$request", "$response", "$value", "$key", "=>",
  "Illuminate", "Support", "Collection", "Container", "Http", "Request", "protected", "private", "const", "bool", "true", "false",
];

function phpSource(random: () => number, bytes: number): string {
  let text = "<?php\n\ndeclare(strict_types=1);\n\n";
  while (text.length < bytes) {
    const count = 4 + Math.floor(random() * 10);
    const line: string[] = [];
    for (let i = 0; i < count; i += 1) line.push(words[Math.floor(random() * words.length)]!);
    text += `    ${line.join(" ")};\n`;
  }
  return text;
}

export async function generateTree(root: string, shape: TreeShape = laravelSized): Promise<{ files: number; bytes: number }> {
  const random = seeded(42);
  let files = 0;
  let bytes = 0;
  const writes: Promise<void>[] = [];
  const flush = async () => {
    await Promise.all(writes.splice(0));
  };
  const put = async (name: string, content: string | Buffer) => {
    const file = path.join(root, name);
    await mkdir(path.dirname(file), { recursive: true });
    writes.push(writeFile(file, content));
    files += 1;
    bytes += Buffer.byteLength(content);
    if (writes.length >= 64) await flush();
  };
  await put("public/index.php", "<?php\nrequire __DIR__ . '/../vendor/autoload.php';\necho 'hello';\n");
  await put("composer.json", '{"require": {"bref/bref": "^3"}}\n');
  await put("vendor/autoload.php", "<?php\nreturn require __DIR__ . '/composer/autoload_real.php';\n");
  for (let i = 0; i < shape.phpFiles - 3; i += 1) {
    const vendor = `vendor${i % 40}`;
    const pkg = `package${i % 120}`;
    const dir = `src/Part${Math.floor(i / 400)}`;
    // Mostly small files, a few large ones: the shape of a real vendor/ folder.
    const size = random() < 0.05 ? 20_000 + Math.floor(random() * 30_000) : 1_000 + Math.floor(random() * 4_500);
    await put(`vendor/${vendor}/${pkg}/${dir}/Class${i}.php`, phpSource(random, size));
  }
  for (let i = 0; i < shape.binaryFiles; i += 1) {
    const content = Buffer.alloc(30_000 + Math.floor(random() * 40_000));
    for (let j = 0; j < content.length; j += 1) content[j] = Math.floor(random() * 256);
    await put(`resources/images/image${i}.bin`, content);
  }
  await flush();
  return { files, bytes };
}
