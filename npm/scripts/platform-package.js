#!/usr/bin/env node
// Writes the npm package that carries one platform's binary:
//   node npm/scripts/platform-package.js <platform> <arch> <binary> <out-dir>
// e.g. `linux x64 target/x86_64-unknown-linux-musl/release/vibeward dist/npm/cli-linux-x64`.
// `os` and `cpu` make npm install it only where it runs; the version is the main package's.
"use strict";

const fs = require("node:fs");
const path = require("node:path");

const [platform, arch, binary, outDir] = process.argv.slice(2);
if (!platform || !arch || !binary || !outDir) {
  console.error("usage: platform-package.js <platform> <arch> <binary> <out-dir>");
  process.exit(2);
}
const main = JSON.parse(
  fs.readFileSync(path.join(__dirname, "..", "vibeward", "package.json"), "utf8")
);
const name = `@vibeward/cli-${platform}-${arch}`;
if (!(name in main.optionalDependencies)) {
  console.error(`${name} is not an optional dependency of vibeward (npm/vibeward/package.json)`);
  process.exit(2);
}
const exe = platform === "win32" ? "vibeward.exe" : "vibeward";
fs.mkdirSync(path.join(outDir, "bin"), { recursive: true });
fs.copyFileSync(binary, path.join(outDir, "bin", exe));
fs.chmodSync(path.join(outDir, "bin", exe), 0o755);
const pkg = {
  name,
  version: main.version,
  description: `The ${platform}-${arch} binary of vibeward (installed by the vibeward package)`,
  license: main.license,
  repository: main.repository,
  os: [platform],
  cpu: [arch],
  files: [`bin/${exe}`],
  preferUnplugged: true,
};
fs.writeFileSync(path.join(outDir, "package.json"), JSON.stringify(pkg, null, 2) + "\n");
console.log(`${name}@${main.version} -> ${outDir}`);
