/**
 * HTML from values for the reports: a template tag that escapes every
 * interpolated value with the one escaping function of every page and report
 * (displacy's {@link escapeHtml}), so a value can only reach the markup escaped
 * (a number from a crafted log included). No Node imports.
 */
import { escapeHtml } from "../pipeline/displacy.js";

/**
 * Markup that is already safe: what {@link html} returns, or {@link trustedHtml} for fixed text such as a
 * bundled script.
 */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** Markup the program itself wrote (never a value from input): inserted as is. */
export function trustedHtml(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

function part(v: unknown): string {
  if (v instanceof SafeHtml) return v.value;
  if (Array.isArray(v)) return v.map(part).join("");
  if (v === null || v === undefined || v === false) return "";
  return escapeHtml(String(v));
}

/**
 * A template tag: html`<td>${x}</td>` escapes `x` unless it is {@link SafeHtml}; arrays are joined,
 * null/undefined/false are empty.
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += part(v) + strings[i + 1]!;
  });
  return new SafeHtml(out);
}
