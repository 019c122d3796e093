// GET /docs in headless Chromium: the API reference page renders the live
// /openapi.json with the Swagger UI it carries, lists every operation of the
// document, and runs and loads nothing its Content-Security-Policy refuses
// (no CSP violation, no console error, no request to another origin). A
// screenshot of the rendered page is saved to test-results/docs-page.png.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handler as openApiHandler } from "../../functions/openapi.js";
import { type LocalServer, startLocalServer } from "../../src/adapters/local-server/local-server.js";
import { routesOf } from "../../src/api/route-contract.js";
import { OPENAPI_ROUTES } from "../../src/api/routes/openapi-routes.js";
import { CHROMIUM_MISSING, CHROMIUM_PATH, chromiumAvailable } from "../support/chromium.js";

// biome-ignore lint/suspicious/noExplicitAny: the generated document, walked by the assertions
type Json = Record<string, any>;

const SCREENSHOT = fileURLToPath(new URL("../../test-results/docs-page.png", import.meta.url));
const available = chromiumAvailable();

let server: LocalServer;

beforeAll(async () => {
  // Only the openapi function: the page needs nothing else, and no database.
  server = await startLocalServer({
    port: 0,
    oemCredential: "docs-page-test-token-0123456789",
    routes: routesOf(OPENAPI_ROUTES),
    handlers: { openapi: openApiHandler as never },
  });
});

afterAll(async () => {
  await server?.close();
});

describe("GET /docs over HTTP", () => {
  it("answers the page with a strict Content-Security-Policy", async () => {
    const response = await fetch(`${server.url}/docs`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const csp = response.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).not.toContain("unsafe-eval");
    expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+' 'sha256-[A-Za-z0-9+/=]+'(;|$)/);
    const html = await response.text();
    // Nothing is loaded by reference: no script or stylesheet element names a URL.
    expect(/<script[^>]+src=|<link[^>]+rel="stylesheet"/.test(html)).toBe(false);
  });
});

describe.skipIf(!available)(
  `GET /docs in headless Chromium${available ? "" : ` (${CHROMIUM_MISSING})`}`,
  () => {
    let browser: Browser;

    beforeAll(async () => {
      browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true });
    });

    afterAll(async () => {
      await browser?.close();
    });

    it("lists every operation of the document, with no CSP violation or console error", async () => {
      const openapi = (await (await fetch(`${server.url}/openapi.json`)).json()) as Json;
      const expected: string[] = [];
      for (const [path, item] of Object.entries(openapi.paths as Json)) {
        for (const method of Object.keys(item)) expected.push(`${method.toUpperCase()} ${path}`);
      }

      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const problems: string[] = [];
      const requests: string[] = [];
      page.on("console", (message) => {
        if (message.type() === "error" || message.type() === "warning") {
          problems.push(`console ${message.type()}: ${message.text()}`);
        }
      });
      page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
      page.on("request", (request) => requests.push(request.url()));
      page.on("requestfailed", (request) => problems.push(`request failed: ${request.url()}`));
      // Violations are also reported as events in the page; collect them from the first moment.
      await page.addInitScript(() => {
        const seen: string[] = [];
        (window as unknown as { cspViolations: string[] }).cspViolations = seen;
        document.addEventListener("securitypolicyviolation", (event) => {
          seen.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"}`);
        });
      });

      const response = await page.goto(`${server.url}/docs`, { waitUntil: "load" });
      expect(response?.status()).toBe(200);
      await page.waitForSelector(".opblock", { timeout: 30_000 });
      const listed = await page.$$eval(".opblock", (blocks) =>
        blocks.map((block) => {
          const method = block.querySelector(".opblock-summary-method")?.textContent?.trim() ?? "";
          const path = block.querySelector(".opblock-summary-path")?.getAttribute("data-path") ?? "";
          return `${method.toUpperCase()} ${path}`;
        }),
      );
      expect(listed).toEqual(expect.arrayContaining(expected));
      expect(await page.locator(".info .title").textContent()).toContain(openapi.info.title);

      mkdirSync(join(SCREENSHOT, ".."), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: false });

      const violations = await page.evaluate(
        () => (window as unknown as { cspViolations: string[] }).cspViolations,
      );
      expect(violations).toEqual([]);
      expect(problems).toEqual([]);
      const origin = new URL(server.url).origin;
      for (const url of requests) expect(new URL(url).origin, url).toBe(origin);
      await page.close();
    });
  },
);
