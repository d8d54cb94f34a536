/**
 * Names and paths echoed to a terminal: control characters (a newline in a file name, terminal escape
 * sequences in file contents) are shown escaped, so one message stays one line and cannot drive the terminal.
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t", "\u001b": "\\e" };

export function escapeControl(text: string): string {
  return text.replace(CONTROL, (c) => NAMED[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** Control characters other than line feed, carriage return and tab (terminal escapes, BEL, C1 controls). */
const TERMINAL_CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g;

/**
 * Everything the CLI prints passes through this: control characters that could drive the terminal are shown as
 * \uXXXX (which is also a valid escape inside JSON strings, so --json output stays valid JSON).
 */
export function escapeTerminal(text: string): string {
  return text.replace(TERMINAL_CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
