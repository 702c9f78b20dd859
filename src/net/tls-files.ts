import { createPrivateKey, X509Certificate, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";

/**
 * tlsFilesProblem says in words what is wrong with a certificate/key pair (which file and why), or
 * null when they load and belong together. OpenSSL's own text ("error:0900006e:PEM routines…")
 * names neither the file nor the fix.
 */
export function tlsFilesProblem(certPath: string, keyPath: string): string | null {
  const certText = readPem(certPath, "certificate");
  if (typeof certText !== "object") return certText;
  const keyText = readPem(keyPath, "private key");
  if (typeof keyText !== "object") return keyText;
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certText.text);
  } catch {
    return `the certificate file ${certPath} does not hold a readable PEM certificate ("-----BEGIN CERTIFICATE-----" block)`;
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(keyText.text);
  } catch {
    return `the key file ${keyPath} does not hold a readable unencrypted PEM private key ("-----BEGIN PRIVATE KEY-----" block)`;
  }
  if (!cert.checkPrivateKey(key)) return `the private key in ${keyPath} does not belong to the certificate in ${certPath}`;
  return null;
}

function readPem(path: string, what: string): { text: string } | string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : code === "EISDIR" ? "it is a directory" : (error as Error).message;
    return `cannot read the ${what} file ${path}: ${why}`;
  }
  if (text.trim() === "") return `the ${what} file ${path} is empty`;
  return { text };
}
