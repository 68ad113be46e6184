#!/usr/bin/env node

// mcp/launcher.ts
import { createHash } from "node:crypto";
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Script, constants as vmConstants } from "node:vm";
var WRITE_CACHE_AFTER_MS = 1e3;
var KEEP_OTHER_CACHES_MS = 24 * 60 * 6e4;
var WRAP_START = Buffer.from("(function (exports, require, module, __filename, __dirname, __bundleUrl) {");
var WRAP_END = Buffer.from("\n})");
var DIGEST_BYTES = 32;
var digest = (data) => createHash("sha256").update(data).digest();
var file = fileURLToPath(new URL("./server.cjs", import.meta.url));
var cacheDir = process.env.CLAUDE_PLUGIN_DATA ? join(process.env.CLAUDE_PLUGIN_DATA, "cache") : void 0;
var { script, cacheFile } = compile();
function compile() {
  const source = readFileSync(file);
  const key = createHash("sha256").update(source).update(`\0${process.version}\0${process.arch}\0${process.execArgv.join(" ")}`).digest("hex").slice(0, 24);
  const cacheFile2 = cacheDir && join(cacheDir, `server-${key}.v8`);
  const wrapped = Buffer.concat([WRAP_START, source, WRAP_END]).toString("utf8");
  const script2 = new Script(wrapped, {
    filename: file,
    cachedData: readCache(cacheFile2),
    importModuleDynamically: vmConstants.USE_MAIN_CONTEXT_DEFAULT_LOADER
  });
  return { script: script2, cacheFile: cacheFile2 };
}
var module = { exports: {} };
script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file), pathToFileURL(file).href);
await module.exports.main();
var written = false;
if (cacheDir && cacheFile && script.cachedDataRejected !== false) {
  const write = () => writeCache(cacheDir, cacheFile);
  const timer = setTimeout(write, WRITE_CACHE_AFTER_MS).unref();
  process.once("exit", () => (clearTimeout(timer), write()));
}
function readCache(path) {
  let file2;
  let fd;
  try {
    if (!path || !isPrivateDir(dirname(path))) return void 0;
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    const stat = fstatSync(fd);
    if (!stat.isFile() || stat.uid !== process.getuid?.() || (stat.mode & 18) !== 0) return void 0;
    file2 = readFileSync(fd);
  } catch {
    return void 0;
  } finally {
    if (fd !== void 0) closeSync(fd);
  }
  const data = file2.subarray(DIGEST_BYTES);
  return file2.length > DIGEST_BYTES && digest(data).equals(file2.subarray(0, DIGEST_BYTES)) ? data : void 0;
}
function isPrivateDir(dir) {
  const stat = lstatSync(dir);
  return stat.isDirectory() && stat.uid === process.getuid?.() && (stat.mode & 63) === 0;
}
function writeCache(dir, path) {
  if (written) return;
  written = true;
  try {
    mkdirSync(dir, { recursive: true, mode: 448 });
    if (!isPrivateDir(dir)) return;
    const temp = `${path}.${process.pid}.tmp`;
    const data = script.createCachedData();
    writeFileSync(temp, Buffer.concat([digest(data), data]), { mode: 384, flag: "wx" });
    renameSync(temp, path);
    for (const name of readdirSync(dir)) {
      const other = join(dir, name);
      if (other !== path && lstatSync(other).mtimeMs < Date.now() - KEEP_OTHER_CACHES_MS) rmSync(other, { force: true });
    }
  } catch {
  }
}
