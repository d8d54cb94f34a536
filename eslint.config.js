// ESLint flat config: ESLint's and typescript-eslint's recommended rules, run by `npm run lint` (and `npm test`).
import eslint from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "dist/",
      "out/",
      "node_modules/",
      ".vscode-test/",
      "test-results/",
      "bench/out/",
      "samples/",
      "test/fixtures/",
    ],
  },
  eslint.configs.recommended,
  tseslint.configs.recommended,
  {
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      // A leading underscore marks a value left out on purpose (`const { dropped: _dropped, ...rest } = x`), as tsc's
      // noUnusedParameters already allows.
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" },
      ],
      // Control characters are matched on purpose: terminal output is cleaned of them, and tests look for ANSI codes.
      "no-control-regex": "off",
    },
  },
  {
    // The two plain-JavaScript files run in Node as they are (a build script and mocha's CommonJS reporter).
    files: ["**/*.mjs", "**/*.cjs"],
    languageOptions: { globals: { process: "readonly", console: "readonly", require: "readonly", module: "writable" } },
  },
  {
    files: ["**/*.cjs"],
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
);
