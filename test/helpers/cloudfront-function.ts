/**
 * Runs a CloudFront Function's code (cloudfront-js-2.0) the way CloudFront does: `handler(event)`.
 * The runtime's one module, `cloudfront`, must be imported on the first line, as CloudFront
 * requires; its origin helpers are recorded so tests can assert where a request would go.
 */
export interface OriginChoice {
  helper: "createRequestOriginGroup" | "selectRequestOriginById" | "updateRequestOrigin";
  argument: unknown;
}

export function loadCloudFrontFunction(code: string): { handler: (event: unknown) => any; origins: OriginChoice[] } {
  const importLine = /^import cf from ['"]cloudfront['"];\n/;
  const imports = code.match(/^\s*import\b.*$/gm) ?? [];
  if (imports.length > 1 || (imports.length === 1 && !importLine.test(code))) {
    throw new Error(`A CloudFront function may only import 'cloudfront', on its first line: ${imports.join(" | ")}`);
  }
  const origins: OriginChoice[] = [];
  const cf = {
    createRequestOriginGroup: (argument: unknown) => origins.push({ helper: "createRequestOriginGroup", argument: structuredClone(argument) }),
    selectRequestOriginById: (argument: unknown) => origins.push({ helper: "selectRequestOriginById", argument }),
    updateRequestOrigin: (argument: unknown) => origins.push({ helper: "updateRequestOrigin", argument: structuredClone(argument) }),
  };
  const body = code.replace(importLine, "");
  const handler = new Function("cf", `"use strict";\n${body}\n;return handler;`)(cf) as (event: unknown) => any;
  return { handler, origins };
}
