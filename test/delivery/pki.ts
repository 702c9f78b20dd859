// Test helper: a throwaway CA with server and client certificates made by openssl, as an operator would.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Pki is a temp directory of PEM files; `path(name)` and `pem(name)` name files like "ca.pem", "client-a.key". */
export interface Pki {
  dir: string;
  ok: boolean;
  path(file: string): string;
  pem(file: string): string;
  remove(): void;
}

function run(args: string[], cwd: string): boolean {
  return Bun.spawnSync(args, { cwd, stdout: "ignore", stderr: "ignore" }).exitCode === 0;
}

/** makePki creates CAs `cas` and leaf certificates `leaves` ([name, ca, subjectAltName, extendedKeyUsage]); ok is false without openssl. */
export function makePki(cas: string[], leaves: [string, string, string, "serverAuth" | "clientAuth"][]): Pki {
  const dir = mkdtempSync(join(tmpdir(), "hookd-pki-"));
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  let ok = true;
  for (const ca of cas) {
    ok &&= run(["openssl", "req", "-x509", ...ec, "-keyout", `${ca}.key`, "-out", `${ca}.pem`, "-days", "1", "-subj", `/CN=${ca}`], dir);
  }
  for (const [name, ca, san, usage] of leaves) {
    writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=${usage}\n`);
    ok &&= run(["openssl", "req", ...ec, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`], dir);
    ok &&= run(["openssl", "x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.pem`, "-CAkey", `${ca}.key`, "-CAcreateserial",
      "-out", `${name}.pem`, "-days", "1", "-extfile", `${name}.ext`], dir);
  }
  return {
    dir,
    ok,
    path: (file) => join(dir, file),
    pem: (file) => readFileSync(join(dir, file), "utf8"),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
