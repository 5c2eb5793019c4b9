// An allow-list sanitiser for notebook text/html outputs and rendered Markdown (escaping: lib/src/html.ts).
// The sanitiser rebuilds the markup from tokens: only listed tags and attributes survive, so scripts,
// event handlers, javascript: URLs, iframes and styles cannot reach the report pages.

import { escapeHtml } from "../../lib/src/html";

/** JSON for a <script type="application/json"> data island: "<" is escaped so no "</script>" can close it. */
export function jsonIsland(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

/** Removes ANSI colour codes (tracebacks from kernels carry them). */
export function stripAnsi(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\u001b\[[0-9;]*[A-Za-z]/g, "");
}

const ALLOWED_TAGS = new Set([
  "a", "b", "i", "u", "s", "em", "strong", "small", "sub", "sup", "code", "pre", "kbd", "samp", "blockquote",
  "p", "br", "hr", "div", "span", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "dl", "dt", "dd",
  "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption", "colgroup", "col", "img", "figure", "figcaption",
  "details", "summary",
]);
/** Tags dropped together with their content (not just the tag). */
const DROP_WITH_CONTENT = new Set(["script", "style", "iframe", "object", "embed", "noscript", "template", "svg", "math", "textarea", "title", "head", "frameset", "frame", "applet"]);
const VOID_TAGS = new Set(["br", "hr", "img", "col"]);
const ALLOWED_ATTRS = new Set(["class", "colspan", "rowspan", "align", "title", "alt", "width", "height", "href", "src", "scope", "start", "open"]);

const SAFE_HREF = /^(https?:|mailto:|#)/i;
// Only inline images: a remote src would make the page fetch from the network.
const SAFE_IMG_SRC = /^data:image\/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]+$/i;

const TOKEN = /<!--[\s\S]*?(?:-->|$)|<(\/?)([A-Za-z][A-Za-z0-9-]*)((?:\s+[^\s"'>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*)\s*(\/?)>|<![^>]*>|<\?[^>]*>/g;
const ATTR = /([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;

/** Decodes the entities a browser would decode in an attribute value, to check URLs as the browser sees them. */
function decodeEntities(s: string): string {
  return s
    .replace(/&#x([0-9a-f]+);?/gi, (_, h: string) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#([0-9]+);?/g, (_, d: string) => String.fromCodePoint(parseInt(d, 10)))
    .replace(/&colon;/gi, ":").replace(/&tab;/gi, "\t").replace(/&newline;/gi, "\n")
    .replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

function cleanAttrs(tag: string, raw: string): string {
  let out = "";
  for (const m of raw.matchAll(ATTR)) {
    const name = m[1].toLowerCase();
    if (!ALLOWED_ATTRS.has(name)) continue; // drops on*, style, srcset, formaction, ...
    const value = decodeEntities(m[2] ?? m[3] ?? m[4] ?? "");
    // Browsers ignore control characters and whitespace inside a URL scheme ("java\tscript:").
    const url = value.replace(/[\u0000-\u0020]/g, "");
    if (name === "href" && (tag !== "a" || !SAFE_HREF.test(url))) continue;
    if (name === "src" && (tag !== "img" || !SAFE_IMG_SRC.test(value))) continue;
    out += ` ${name}="${escapeHtml(value)}"`;
  }
  if (tag === "a") out += ' rel="noopener noreferrer"';
  return out;
}

/**
 * Sanitises untrusted HTML with an allow-list: keeps structural/table/text tags and a few harmless
 * attributes, drops every other tag (and the content of script/style/iframe/svg and the like), all
 * event-handler and style attributes, non-http(s) links and non-inline images. Text is re-escaped, and
 * unclosed allowed tags are closed at the end so the output cannot swallow the rest of the page.
 */
export function sanitizeHtml(input: string): string {
  let out = "";
  let last = 0;
  let dropUntil: string | null = null;
  const open: string[] = [];
  const text = (s: string): string => s.replace(/</g, "&lt;").replace(/>/g, "&gt;");
  for (const m of input.matchAll(TOKEN)) {
    const idx = m.index ?? 0;
    if (dropUntil === null) out += text(input.slice(last, idx));
    last = idx + m[0].length;
    const tag = m[2]?.toLowerCase();
    if (!tag) continue; // comment, doctype, processing instruction
    const closing = m[1] === "/";
    if (dropUntil !== null) {
      if (closing && tag === dropUntil) dropUntil = null;
      continue;
    }
    if (DROP_WITH_CONTENT.has(tag)) {
      if (!closing && m[4] !== "/") dropUntil = tag;
      continue;
    }
    if (!ALLOWED_TAGS.has(tag)) continue;
    if (closing) {
      const at = open.lastIndexOf(tag);
      if (at < 0) continue;
      while (open.length > at) out += `</${open.pop()}>`;
    } else {
      out += `<${tag}${cleanAttrs(tag, m[3] ?? "")}>`;
      if (!VOID_TAGS.has(tag)) open.push(tag);
    }
  }
  if (dropUntil === null) out += text(input.slice(last));
  while (open.length) out += `</${open.pop()}>`;
  return out;
}
