// The page ReadDisplayInformationFromMailbox serves (draft-vinokurov-tigress-http-00
// §6.4): OpenGraph meta tags from the Initiator's plaintext displayInformation,
// so a messenger can show a preview of the share link. The strings come from
// an unauthenticated client and end up in HTML, so every one is escaped for
// text and attribute context alike, and the page carries no script at all
// (§8.1.2 warns about third-party JavaScript; none is simpler than hashes).
// Its headers forbid everything else too: a Content-Security-Policy of
// `default-src 'none'`, no referrer (the URL is the mailbox capability), no
// caching, no indexing. The image is only named in og:image for the preview
// bot, never loaded by the page, so opening the link in a browser contacts
// nobody but the relay. og:type is "website" and og:url the mailbox URL,
// not the draft example's invalid `image/jpeg` and `share://` (§5 item 9).
import type { DisplayInformation } from "../../api/relay-schemas.js";

export const PREVIEW_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/html; charset=utf-8",
  "content-security-policy":
    "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
  "x-robots-tag": "noindex, nofollow",
  "cache-control": "no-store",
};

const ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
  "`": "&#96;",
};

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  // NUL is a parse error in HTML; it becomes the replacement character, as a parser would make it.
  return text.replace(/[&<>"'`]/g, (c) => ESCAPES[c]!).replaceAll("\u0000", "\uFFFD");
}

export function previewPage(display: DisplayInformation, mailboxUrl: string): string {
  const title = escapeHtml(display.title);
  const description = escapeHtml(display.description);
  const meta = [
    `<meta property="og:type" content="website">`,
    `<meta property="og:title" content="${title}">`,
    `<meta property="og:description" content="${description}">`,
    ...(display.imageURL === ""
      ? []
      : [`<meta property="og:image" content="${escapeHtml(display.imageURL)}">`]),
    `<meta property="og:url" content="${escapeHtml(mailboxUrl)}">`,
    `<meta name="robots" content="noindex, nofollow">`,
    `<meta name="referrer" content="no-referrer">`,
  ];
  return [
    "<!DOCTYPE html>",
    `<html lang="und">`,
    "<head>",
    `<meta charset="utf-8">`,
    `<meta name="viewport" content="width=device-width, initial-scale=1">`,
    `<title>${title}</title>`,
    ...meta,
    "</head>",
    "<body>",
    `<h1>${title}</h1>`,
    `<p>${description}</p>`,
    "<p>Open this link on the device the invitation was meant for.</p>",
    "</body>",
    "</html>",
    "",
  ].join("\n");
}
