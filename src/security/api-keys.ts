import { createHash, timingSafeEqual } from "node:crypto";
import { DEFAULT_SCOPES, type Scope } from "./scopes";

/** ApiKeyEntry is a configured key: a name for logs and idempotency scope, `sha256:<hex>` of the key, its scopes. */
export interface ApiKeyEntry {
  readonly name: string;
  readonly hash: string;
  /** scopes default to ["admin"] (tests and old callers may leave them out). */
  readonly scopes?: readonly Scope[];
}

/** VerifiedKey is the key a request presented: its configured name and scopes. */
export interface VerifiedKey {
  readonly name: string;
  readonly scopes: readonly Scope[];
}

/** hashApiKey is what `hookd hash-key` prints: API keys are long random strings, so one SHA-256 suffices. */
export function hashApiKey(key: string): string {
  return `sha256:${createHash("sha256").update(key, "utf8").digest("hex")}`;
}

/** ApiKeyVerifier checks Bearer tokens against configured hashes in constant time. */
export class ApiKeyVerifier {
  private readonly entries: { key: VerifiedKey; digest: Buffer }[];

  constructor(keys: readonly ApiKeyEntry[]) {
    this.entries = keys.map((k) => ({
      key: Object.freeze({ name: k.name, scopes: k.scopes ?? DEFAULT_SCOPES }),
      digest: Buffer.from(k.hash.slice("sha256:".length), "hex"),
    }));
  }

  get configured(): boolean {
    return this.entries.length > 0;
  }

  /** verify returns the matching key, or null. Every entry is compared, so timing says nothing about which. */
  verify(authorization: string | null): VerifiedKey | null {
    if (authorization === null) return null;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) return null;
    const presented = createHash("sha256").update(match[1]!, "utf8").digest();
    let found: VerifiedKey | null = null;
    for (const entry of this.entries) {
      if (entry.digest.length === presented.length && timingSafeEqual(entry.digest, presented) && found === null) {
        found = entry.key;
      }
    }
    return found;
  }
}
