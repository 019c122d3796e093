// The relay's small pure parts on their own: the GCRA bucket arithmetic
// (rate-limiter.ts), address bucket keys, RFC 3339 parsing and the HTML
// escaping of the preview page, each with edge cases and, where a property
// says more than examples, a fast-check run.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseRfc3339, recipientRights } from "../../../src/service/relay/mailbox-configuration.js";
import { attestationHeader, requestIdHeader } from "../../../src/service/relay/mailbox-headers.js";
import { escapeHtml } from "../../../src/service/relay/preview-page.js";
import { addressBucket, gcra } from "../../../src/service/relay/rate-limiter.js";

describe("gcra", () => {
  it("allows a full burst back to back, then one request per interval", () => {
    const policy = { burst: 5, intervalMs: 100 };
    let tat: number | undefined;
    for (let i = 0; i < 5; i++) {
      const outcome = gcra(tat, 1000, policy);
      expect(outcome.allowed).toBe(true);
      if (outcome.allowed) tat = outcome.tat;
    }
    expect(gcra(tat, 1000, policy)).toEqual({ allowed: false, retryAfterMs: 100 });
    expect(gcra(tat, 1099, policy)).toEqual({ allowed: false, retryAfterMs: 1 });
    expect(gcra(tat, 1100, policy).allowed).toBe(true);
  });

  it("never lets more than burst + elapsed/interval requests through", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 1000 }),
        fc.array(fc.integer({ min: 0, max: 500 }), { maxLength: 200 }),
        (burst, intervalMs, gaps) => {
          let now = 0;
          let tat: number | undefined;
          let allowed = 0;
          for (const gap of gaps) {
            now += gap;
            const outcome = gcra(tat, now, { burst, intervalMs });
            if (outcome.allowed) {
              allowed++;
              tat = outcome.tat;
            } else {
              expect(outcome.retryAfterMs).toBeGreaterThan(0);
              expect(outcome.retryAfterMs).toBeLessThanOrEqual(intervalMs);
            }
          }
          expect(allowed).toBeLessThanOrEqual(burst + Math.floor(now / intervalMs));
        },
      ),
    );
  });
});

describe("addressBucket", () => {
  it("hides the address, maps IPv4-in-IPv6 to IPv4 and groups an IPv6 /64", () => {
    expect(addressBucket("203.0.113.9")).toMatch(/^addr:[0-9a-f]{32}$/);
    expect(addressBucket("203.0.113.9")).not.toContain("203");
    expect(addressBucket("::ffff:203.0.113.9")).toBe(addressBucket("203.0.113.9"));
    expect(addressBucket("2001:db8::1")).toBe(addressBucket("2001:0db8:0000:0000:ffff::2"));
    expect(addressBucket("2001:db8:0:1::1")).not.toBe(addressBucket("2001:db8::1"));
    expect(addressBucket("203.0.113.9")).not.toBe(addressBucket("203.0.113.10"));
  });
});

describe("header and configuration parsing", () => {
  it("parses RFC 3339 with offsets and fractions and refuses impossible fields", () => {
    expect(parseRfc3339("2024-01-11T10:00:00Z")).toBe(Date.UTC(2024, 0, 11, 10));
    expect(parseRfc3339("2024-01-11t10:00:00.5-01:30")).toBe(Date.UTC(2024, 0, 11, 11, 30, 0, 500));
    expect(parseRfc3339("2024-02-29T00:00:00Z")).toBe(Date.UTC(2024, 1, 29));
    for (const bad of [
      "2023-02-29T00:00:00Z",
      "2024-13-01T00:00:00Z",
      "2024-01-01T00:00:00+24:00",
      "2024-01-01",
    ]) {
      expect(parseRfc3339(bad), bad).toBeUndefined();
    }
  });

  it("normalizes request ids and access rights", () => {
    expect(requestIdHeader(" 0A1B2C3D-0000-4000-8000-00000000000F ", true)).toBe(
      "0a1b2c3d-0000-4000-8000-00000000000f",
    );
    expect(requestIdHeader(undefined, false)).toBeUndefined();
    expect(recipientRights(undefined)).toBe("RWD");
    expect(recipientRights("DR")).toBe("RD");
    expect(attestationHeader("AQ")).toBe("AQ");
  });
});

describe("escapeHtml", () => {
  const unescapeHtml = (text: string) =>
    text
      .replaceAll("&lt;", "<")
      .replaceAll("&gt;", ">")
      .replaceAll("&quot;", '"')
      .replaceAll("&#39;", "'")
      .replaceAll("&#96;", "`")
      .replaceAll("&amp;", "&");

  it("leaves no markup character and loses nothing but NUL", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (text) => {
        const escaped = escapeHtml(text);
        expect(/[<>"'`]/.test(escaped) || escaped.includes("\u0000")).toBe(false);
        expect(unescapeHtml(escaped)).toBe(text.replaceAll("\u0000", "\uFFFD"));
      }),
      { numRuns: 300 },
    );
  });
});
