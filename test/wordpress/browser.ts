import { rawRequest, type RawResponse } from "../dev/helpers.js";

/** One browser for WordPress tests: remembers cookies, follows nothing, posts forms and files. */
export class Browser {
  private readonly cookies = new Map<string, string>();
  constructor(readonly base: string) {}

  async request(
    requestPath: string,
    init: { method?: string; form?: Record<string, string>; files?: Record<string, { name: string; type: string; content: Buffer }> } = {},
  ): Promise<RawResponse & { text: string; location?: string }> {
    const headers: Record<string, string> = {};
    if (this.cookies.size > 0) headers.Cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
    let body: Buffer | undefined;
    if (init.files) {
      const boundary = `----lamp${Date.now().toString(16)}`;
      const parts: Buffer[] = [];
      for (const [name, value] of Object.entries(init.form ?? {})) parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
      for (const [name, file] of Object.entries(init.files)) {
        parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${file.name}"\r\nContent-Type: ${file.type}\r\n\r\n`), file.content, Buffer.from("\r\n"));
      }
      parts.push(Buffer.from(`--${boundary}--\r\n`));
      body = Buffer.concat(parts);
      headers["Content-Type"] = `multipart/form-data; boundary=${boundary}`;
    } else if (init.form) {
      body = Buffer.from(new URLSearchParams(init.form).toString());
      headers["Content-Type"] = "application/x-www-form-urlencoded";
    }
    const response = await rawRequest(this.base, { method: init.method ?? (body ? "POST" : "GET"), path: requestPath, headers, body });
    for (let index = 0; index + 1 < response.rawHeaders.length; index += 2) {
      if (response.rawHeaders[index]!.toLowerCase() !== "set-cookie") continue;
      const [pair] = response.rawHeaders[index + 1]!.split(";");
      const equals = pair!.indexOf("=");
      const name = pair!.slice(0, equals).trim();
      const value = pair!.slice(equals + 1).trim();
      if (/expires=Thu, 01-Jan-1970|Max-Age=0/i.test(response.rawHeaders[index + 1]!) || value === "deleted" || value === "+") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const location = response.headers.location?.replace(/^https?:\/\/[^/]+/, "");
    return { ...response, text: response.body.toString("utf8"), location };
  }

  cookieNames(): string[] {
    return [...this.cookies.keys()];
  }
}
