// C0 and C1 controls and DEL (\p{Cc}: ESC starts the sequences that clear a screen, set its title
// or move the cursor; CR overwrites a line), the bidi controls that reorder what a line shows
// (\p{Bidi_Control}, "Trojan Source", CVE-2021-42574) and the Unicode line and paragraph separators.
const UNPRINTABLE = /[\p{Cc}\p{Bidi_Control}\u2028\u2029]/gu
const SHORT: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' }

/**
 * Free text (a reason, an actor, a slice name, a value from a record) made safe to print on a
 * terminal or in a Markdown file: every control character is written as a visible escape, the way
 * JSON writes it (`\u001b`, `\r`), so that the text cannot move the cursor or rewrite the screen and
 * the operator still sees that it was there. Newlines are escaped too: output formats put their
 * own line breaks between the values they print. JSON output needs none of this.
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (char) => SHORT[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`)
}
