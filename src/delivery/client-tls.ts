import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import type { ClientTlsProfile } from "../config/types";
import type { Logger } from "../log";

/** ClientTlsMaterial is one profile's PEM contents as handed to Bun's fetch `tls` option. */
export interface ClientTlsMaterial {
  readonly cert: string;
  readonly key: string;
  /** ca replaces the trusted roots when set. */
  readonly ca?: string;
}

/** ClientTlsEntry is a loaded profile: its material and the keep-alive session only its attempts use. */
export interface ClientTlsEntry {
  readonly material: ClientTlsMaterial;
  readonly session: Bun.FetchSession;
}

/** ClientTlsReload reports a re-read: profiles whose files changed, and failures (key path, file, reason). */
export interface ClientTlsReload {
  changed: string[];
  failed: { key: string; path: string; error: string }[];
}

/** ClientTlsError is a profile whose files cannot be used at start; its message names the key path. */
export class ClientTlsError extends Error {
  override readonly name = "ClientTlsError";
}

/**
 * ClientTlsStore holds the `[[delivery.client_tls]]` profiles' PEM contents and one FetchSession per
 * profile, so a connection that presented one client certificate is never reused for another profile
 * (or for an endpoint without one). Files are read at start (a bad one fails the boot) and again on
 * SIGHUP, where a file that cannot be read or does not fit keeps the previous contents.
 */
export class ClientTlsStore {
  private entries = new Map<string, ClientTlsEntry>();
  private profiles: readonly ClientTlsProfile[] = [];

  constructor(
    profiles: readonly ClientTlsProfile[],
    private proxy: Bun.FetchProxyOption,
    private readonly log?: Logger,
  ) {
    this.profiles = profiles;
    profiles.forEach((p, i) => {
      const loaded = loadMaterial(p, i);
      if ("error" in loaded) throw new ClientTlsError(`${loaded.key}: ${loaded.error}`);
      this.entries.set(p.name, { material: loaded, session: this.newSession() });
    });
  }

  /** get returns a configured, loaded profile, or null (not configured, or its files never loaded). */
  get(name: string): ClientTlsEntry | null {
    return this.entries.get(name) ?? null;
  }

  /**
   * reload re-reads every profile's files (with a new profile list when the config was reloaded).
   * A profile whose contents changed gets a fresh session; the old one closes its idle connections
   * and lets requests in flight finish. A profile that fails keeps what it had (if anything).
   */
  reload(profiles: readonly ClientTlsProfile[] = this.profiles): ClientTlsReload {
    const report: ClientTlsReload = { changed: [], failed: [] };
    const next = new Map<string, ClientTlsEntry>();
    profiles.forEach((p, i) => {
      const old = this.entries.get(p.name);
      const loaded = loadMaterial(p, i);
      if ("error" in loaded) {
        report.failed.push(loaded);
        this.log?.error("client TLS profile reload failed; the previous certificate stays in use", {
          profile: p.name, key: loaded.key, path: loaded.path, error: loaded.error,
        });
        if (old !== undefined) next.set(p.name, old);
        return;
      }
      if (old !== undefined && sameMaterial(old.material, loaded)) {
        next.set(p.name, old);
        return;
      }
      report.changed.push(p.name);
      next.set(p.name, { material: loaded, session: this.newSession() });
    });
    for (const [name, entry] of this.entries) if (next.get(name) !== entry) entry.session.close();
    this.entries = next;
    this.profiles = profiles;
    if (report.changed.length > 0) this.log?.info("client TLS profiles reloaded", { profiles: report.changed });
    return report;
  }

  /** setProxy gives every profile a fresh session through `proxy` (a reloaded `[delivery] proxy`); old sessions finish what they have. */
  setProxy(proxy: Bun.FetchProxyOption): void {
    this.proxy = proxy;
    const next = new Map<string, ClientTlsEntry>();
    for (const [name, entry] of this.entries) {
      entry.session.close();
      next.set(name, { material: entry.material, session: this.newSession() });
    }
    this.entries = next;
  }

  /** close drops every profile's idle connections. */
  close(): void {
    for (const entry of this.entries.values()) entry.session.close();
  }

  private newSession(): Bun.FetchSession {
    return new Bun.FetchSession({ proxy: this.proxy });
  }
}

type LoadFailure = { key: string; path: string; error: string };

/** loadMaterial reads one profile's files and checks that they parse and that the key belongs to the certificate. */
function loadMaterial(p: ClientTlsProfile, index: number): ClientTlsMaterial | LoadFailure {
  const at = `delivery.client_tls[${index}]`;
  const read = (field: "cert" | "key" | "ca"): string | LoadFailure => {
    try {
      return readFileSync(p[field], "utf8");
    } catch (e) {
      const code = (e as { code?: string }).code;
      return { key: `${at}.${field}`, path: p[field], error: `cannot read ${p[field]}: ${code ?? (e as Error).message}` };
    }
  };
  const cert = read("cert");
  if (typeof cert !== "string") return cert;
  const key = read("key");
  if (typeof key !== "string") return key;
  const ca = p.ca === "" ? undefined : read("ca");
  if (ca !== undefined && typeof ca !== "string") return ca;
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    return { key: `${at}.cert`, path: p.cert, error: `${p.cert} holds no PEM certificate` };
  }
  try {
    if (!x509.checkPrivateKey(createPrivateKey(key))) {
      return { key: `${at}.key`, path: p.key, error: `${p.key} is not the private key of ${p.cert}` };
    }
  } catch {
    // The key text itself never goes into the message: it is the secret.
    return { key: `${at}.key`, path: p.key, error: `${p.key} holds no usable PEM private key (unencrypted PEM expected)` };
  }
  if (ca !== undefined) {
    try {
      new X509Certificate(ca);
    } catch {
      return { key: `${at}.ca`, path: p.ca, error: `${p.ca} holds no PEM certificate` };
    }
  }
  return ca === undefined ? { cert, key } : { cert, key, ca };
}

function sameMaterial(a: ClientTlsMaterial, b: ClientTlsMaterial): boolean {
  return a.cert === b.cert && a.key === b.key && a.ca === b.ca;
}
