/** Command-line parsing for every subcommand: node:util parseArgs, strict, with help text from the same specs. */
import { parseArgs } from "node:util";
import { UsageError } from "../core/errors.js";

export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
  /** One line for the help text. */
  description: string;
  /** Shown in help as the value's name, e.g. "<file>". */
  valueName?: string;
}

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/**
 * Placeholders of options whose value is a number (or numbers): a negative number there is a value (a negative
 * weight or λ negates a task vector); validation of the range is the option's own.
 */
const NUMBER_VALUE_NAMES = new Set([
  "<N>",
  "<d>",
  "<f>",
  "<k>",
  "<t>",
  "<α>",
  "<ε>",
  "<η>",
  "<λ>",
  "<rate>",
  "w1,w2,...",
]);
const NEGATIVE_NUMBERS = /^-(\d|\.\d)[\d.,eE+-]*$/;

/**
 * A string option followed by something that starts with "-": a negative number given to a numeric option is taken
 * as its value; anything else is refused in one line (the argument parser's own text is several lines).
 */
function joinDashValues(options: Record<string, OptionSpec>, argv: readonly string[]): string[] {
  const byShort = new Map(Object.entries(options).flatMap(([name, o]) => (o.short ? [[`-${o.short}`, name]] : [])));
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    out.push(token);
    if (token === "--") {
      out.push(...argv.slice(i + 1));
      break;
    }
    const name = token.startsWith("--") ? token.slice(2) : byShort.get(token);
    const spec = name !== undefined ? options[name] : undefined;
    const next = argv[i + 1];
    if (spec?.type !== "string" || next === undefined || !next.startsWith("-") || next === "-") continue;
    if (NUMBER_VALUE_NAMES.has(spec.valueName ?? "") && NEGATIVE_NUMBERS.test(next)) {
      out[out.length - 1] = `--${name}=${next}`;
      i++;
      continue;
    }
    throw new UsageError(
      `--${name} expects a value ${spec.valueName ?? ""}`.trimEnd() +
        `, got "${next}", which reads as an option; to give a value starting with "-", write --${name}=${next}`,
    );
  }
  return out;
}

/** Parses a subcommand's arguments (everything after its name); unknown options and missing values are UsageErrors. */
export function parseCommandArgs(options: Record<string, OptionSpec>, argv: readonly string[]): ParsedArgs {
  const config = Object.fromEntries(
    Object.entries(options).map(([name, o]) => [
      name,
      { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) },
    ]),
  );
  try {
    const { values, positionals } = parseArgs({
      args: joinDashValues(options, argv),
      options: config,
      allowPositionals: true,
      strict: true,
    });
    return { values: values as ParsedArgs["values"], positionals };
  } catch (error) {
    if (error instanceof UsageError) throw error;
    // node:util's messages may span lines; the CLI's errors are one line.
    throw new UsageError((error as Error).message.replace(/\s*\n\s*/g, " "));
  }
}

/** The option lines of a help text. */
export function optionHelp(options: Record<string, OptionSpec>): string {
  const rows = Object.entries(options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : ""}--${name}${o.type === "string" ? ` ${o.valueName ?? "<value>"}` : ""}`;
    return [flag, o.description] as const;
  });
  const width = Math.max(0, ...rows.map(([flag]) => flag.length));
  return rows.map(([flag, text]) => `  ${flag.padEnd(width)}  ${text}`).join("\n");
}

/**
 * A command's usage line: the synopsis, then every option — the required ones first, as given, the others in
 * brackets — so it never omits one.
 */
export function usageLine(
  synopsis: string,
  options: Record<string, OptionSpec>,
  required: readonly string[] = [],
): string {
  const form = (name: string) => {
    const o = options[name]!;
    return `--${name}${o.type === "string" ? ` ${o.valueName ?? "<value>"}` : ""}`;
  };
  const optional = Object.keys(options).filter((name) => !required.includes(name));
  return [synopsis, ...required.map(form), ...optional.map((name) => `[${form(name)}]`)].join(" ");
}

/** A string option's value, or undefined; a UsageError when given more than once. */
export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name];
  if (value === "") throw new UsageError(`--${name} expects a value; got an empty string`);
  if (value === undefined || typeof value === "string") return value;
  throw new UsageError(`--${name} expects one value`);
}

export function flag(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true;
}
