// ESLint flat config: ESLint's and typescript-eslint's recommended rules, run by `npm run lint` (and `npm test`).
import eslint from "@eslint/js";
import tseslint from "typescript-eslint";

// The runtime layers (DESIGN.md, "Runtime boundaries"): which folder may import which. An import the wrong way fails
// `npm run lint` (test/lint/layering.test.ts proves each rule fires). Type-only imports count too: a type that must
// cross a boundary belongs in src/protocol/.
const layer = (files, patterns, message) => ({
  files,
  rules: {
    "no-restricted-imports": [
      "error",
      { paths: [{ name: "vscode", message }], patterns: patterns.map((regex) => ({ regex, message })) },
    ],
  },
});
const layering = [
  layer(
    ["src/core/**/*.ts"],
    ["(^|/)(worker|host|cli|client)(/|$)"],
    "src/core/ runs anywhere: it imports nothing of worker/, host/, cli/, client/ or vscode.",
  ),
  layer(
    ["src/protocol/**/*.ts"],
    // vscode-jsonrpc: the worker requests are its RequestType objects, shared by both ends (as vscode-eslint does).
    ["^(?!\\./[^/]+$|valibot$|vscode-jsonrpc$)"],
    "src/protocol/ is shared by every runtime: it imports only its own files, valibot and vscode-jsonrpc.",
  ),
  layer(
    ["src/worker/**/*.ts"],
    ["(^|/)(host|cli)(/|$)"],
    "src/worker/ runs in a child process: it never imports host/, cli/ or vscode.",
  ),
  // The one learner drives any engine through src/worker/engine/soup-engine.ts: no TensorFlow.js in it (issue 20).
  {
    files: ["src/worker/learn/learn.ts", "src/worker/learn/batchnorm-choice.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [{ name: "vscode", message: "src/worker/ runs in a child process: it never imports vscode." }],
          patterns: [
            {
              regex: "(^|/)(host|cli)(/|$)",
              message: "src/worker/ runs in a child process: it never imports host/, cli/ or vscode.",
            },
            {
              regex: "^@tensorflow/",
              message:
                "The one learner drives any engine through SoupEngine (worker/engine): it imports no TensorFlow.js.",
            },
          ],
        },
      ],
    },
  },
  layer(
    ["webview/**/*.ts"],
    ["^(?!\\./[^/]+$|\\.\\./src/protocol/[^/]+$|@vscode-elements/elements/|uplot$)"],
    "webview/ runs in the browser: it imports only its own files, src/protocol/ and its UI libraries.",
  ),
];

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
  ...layering,
);
