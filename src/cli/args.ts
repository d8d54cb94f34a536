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
      args: [...argv],
      options: config,
      allowPositionals: true,
      strict: true,
    });
    return { values: values as ParsedArgs["values"], positionals };
  } catch (error) {
    throw new UsageError((error as Error).message);
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
