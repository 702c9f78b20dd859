import { readFileSync } from "node:fs";

/**
 * pemFileProblem checks at load time that a certificate or key file can be read and looks like PEM,
 * so serve never starts half-configured; null when it does.
 */
export function pemFileProblem(path: string): string | null {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    return `cannot read ${JSON.stringify(path)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
  }
  return text.includes("-----BEGIN ") ? null : `${JSON.stringify(path)} is not a PEM file (no "-----BEGIN" line)`;
}
