/** HTML escaping, for text and attribute values alike (the library's tables, progress and chart outputs; the report). */

/** `s` with &, <, >, " and ' replaced by entities: safe as element text and inside a quoted attribute. */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}
