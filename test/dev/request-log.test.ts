import { describe, expect, it } from "vitest";
import { uiDevLog } from "../../src/dev/server.js";
import { createTestContext } from "../helpers/context.js";

/** lamp dev's request log: lines written in batches, never lost, never after a later PHP line. */
describe("lamp dev's request log", () => {
  it("writes request lines together within 50 ms, and at once when hundreds are waiting", async () => {
    const ctx = createTestContext();
    const log = uiDevLog(ctx);
    log.request("GET", "/a", 200, 1);
    log.request("POST", "/b", 404, 2);
    expect(ctx.ui.texts("out")).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(ctx.ui.texts("out")).toEqual(["GET /a 200 1ms\nPOST /b 404 2ms"]);
    // Under load: a few hundred lines at most wait for the timer.
    for (let index = 0; index < 300; index++) log.request("GET", `/n${index}`, 200, 0);
    const written = ctx.ui.texts("out").slice(1).join("\n").split("\n");
    expect(written).toHaveLength(256);
    expect(written[255]).toBe("GET /n255 200 0ms");
    log.flush();
    expect(ctx.ui.texts("out").slice(1).join("\n").split("\n")).toHaveLength(300);
  });

  it("writes waiting request lines before a line of PHP's", () => {
    const ctx = createTestContext();
    const log = uiDevLog(ctx);
    log.request("GET", "/first", 200, 3);
    log.php("PHP Warning: something");
    expect(ctx.ui.texts("out")).toEqual(["GET /first 200 3ms", "php PHP Warning: something"]);
  });
});
