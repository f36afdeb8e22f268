import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../src/core/clock.js";
import { loadProject } from "../../src/project/config.js";
import { startDevServer, uiDevLog, type DevServer } from "../../src/dev/server.js";
import { createTestContext } from "../helpers/context.js";
import { copyFixtureApp, phpFpmForTests, rawRequest } from "../dev/helpers.js";

/** Any app's mail() under default lamp dev (not only WordPress's): caught, one line, never sent. */
const phpFpm = phpFpmForTests();

describe.skipIf(!phpFpm)("mail() of a plain PHP app under lamp dev", () => {
  let app: ReturnType<typeof copyFixtureApp>;
  let server: DevServer;
  const mails: string[] = [];

  beforeAll(async () => {
    app = copyFixtureApp();
    writeFileSync(path.join(app.root, "public", "index.php"), `<?php var_dump(mail('sales@example.com', 'A question', "Hello\\n", 'From: visitor@example.org'));\n`);
    const ctx = createTestContext({ cwd: app.root, env: process.env, clock: systemClock });
    server = await startDevServer({ project: await loadProject(app.root), port: 0, host: "127.0.0.1", workers: 1, phpFpm }, ctx, { ...uiDevLog(ctx), mail: (line) => mails.push(line) });
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    app?.remove();
  });

  it("returns true to PHP, keeps the message in .lamp/mail/ and logs one line naming the missing setting", async () => {
    const answer = await rawRequest(server.url, { path: "/contact.php" });
    expect(answer.body.toString()).toBe("bool(true)\n");
    expect(mails).toEqual([expect.stringMatching(/^mail to sales@example\.com: "A question" caught, not sent: \.lamp\/mail\/\S+\.eml — in Lambda it would not be sent: set mail\.from in lamp\.json$/)]);
    const folder = path.join(app.root, ".lamp", "mail");
    const [file] = readdirSync(folder);
    expect(readFileSync(path.join(folder, file!), "utf8")).toMatch(/^Subject: A question$/m);
  });
});
