// Builds the web manager into the admin service's package, where rcp-admin serves it.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig, type Plugin } from "vite";

const here = fileURLToPath(new URL(".", import.meta.url));
const outDir = join(here, "..", "services", "admin", "rcp_admin", "web_dist");

// The files whose content makes the build. tests/test_web_build.py hashes the same files the
// same way, so a commit that changes a source without rebuilding fails the tests.
const TOP_FILES = ["index.html", "package.json", "package-lock.json", "tsconfig.json", "vite.config.ts"];

function walk(folder: string): string[] {
  return readdirSync(folder).flatMap((name) => {
    const path = join(folder, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

export function sourceHash(): string {
  const files = [...TOP_FILES.map((name) => join(here, name)), ...walk(join(here, "src"))]
    .map((path) => relative(here, path).split(sep).join("/"))
    .sort();
  const hash = createHash("sha256");
  for (const name of files) {
    hash.update(`${name}\0`);
    hash.update(readFileSync(join(here, name)));
    hash.update("\0");
  }
  return hash.digest("hex");
}

function sourceStamp(): Plugin {
  return {
    name: "receptionist-source-stamp",
    generateBundle() {
      this.emitFile({ type: "asset", fileName: "source-hash.txt", source: `${sourceHash()}\n` });
    },
  };
}

// `npm run dev` serves the pages with live reload and passes API calls to a running admin.
const admin = process.env.RCP_ADMIN_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  base: "/",
  server: { host: "127.0.0.1", proxy: { "/v1": admin, "/openapi.json": admin } },
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  plugins: [sourceStamp()],
  build: {
    outDir,
    emptyOutDir: true,
    target: "es2022",
    assetsDir: "assets",
    sourcemap: false,
  },
});
