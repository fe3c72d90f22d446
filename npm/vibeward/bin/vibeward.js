#!/usr/bin/env node
// Runs the vibeward binary of this platform. npm installs exactly one of the optional
// dependencies `@vibeward/cli-<platform>-<arch>` (their `os` and `cpu` fields choose it), the way
// biome, oxlint and esbuild ship native binaries. `VIBEWARD_BINARY` overrides the lookup.
"use strict";

const { spawnSync } = require("node:child_process");
const path = require("node:path");

function binaryPath() {
  if (process.env.VIBEWARD_BINARY) {
    return process.env.VIBEWARD_BINARY;
  }
  const pkg = `@vibeward/cli-${process.platform}-${process.arch}`;
  const exe = process.platform === "win32" ? "vibeward.exe" : "vibeward";
  try {
    return require.resolve(`${pkg}/bin/${exe}`);
  } catch {
    // a sibling folder, for a local install from packed tarballs
    const sibling = path.join(__dirname, "..", "..", pkg.split("/")[1], "bin", exe);
    if (require("node:fs").existsSync(sibling)) {
      return sibling;
    }
    console.error(
      `vibeward: no binary for ${process.platform}-${process.arch}: the optional dependency ${pkg} ` +
        "is not installed (npm skips optional dependencies with --no-optional or --omit=optional). " +
        "Reinstall without those flags, or use `pipx run vibeward` or `cargo install vibeward`."
    );
    process.exit(2);
  }
}

const result = spawnSync(binaryPath(), process.argv.slice(2), { stdio: "inherit" });
if (result.error) {
  console.error(`vibeward: cannot run the binary: ${result.error.message}`);
  process.exit(2);
}
if (result.signal) {
  process.kill(process.pid, result.signal);
}
process.exit(result.status ?? 2);
