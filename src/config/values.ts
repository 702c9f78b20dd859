import { isEventType } from "../events/types";
import { isIP } from "node:net";
import { Cron } from "croner";

// Pure checks for single config values. Each returns null when the value is
// fine, else the message that follows `config error: <path>: `.


/** eventTypeProblem accepts dot-separated names like "payroll.batch_closed", at most 128 characters. */
export function eventTypeProblem(type: string): string | null {
  if (isEventType(type)) return null;
  return `${JSON.stringify(type)} is not an event type (two or more dot-separated words of letters, digits, _ or -, like "payroll.batch_closed"; at most 128 characters)`;
}

/** sourceIdProblem accepts ids that are safe as the last segment of POST /in/:source. */
export function sourceIdProblem(id: string): string | null {
  if (/^[a-z0-9][a-z0-9_-]{0,63}$/.test(id)) return null;
  return `${JSON.stringify(id)} is not a source id (1-64 of a-z, 0-9, _ and -, starting with a letter or digit)`;
}

/** keyNameProblem accepts API key names that are safe to log. */
export function keyNameProblem(name: string): string | null {
  // The audit log records config reloads under this name (SPEC §14); a key of that name could pass for one.
  if (name.toLowerCase() === "sighup") return `"${name}" is reserved: the audit log records config reloads under "sighup"`;
  if (/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) return null;
  return `${JSON.stringify(name)} is not a key name (1-64 of letters, digits, ., _ and -)`;
}

/** keyHashProblem accepts what `hookd hash-key` prints: "sha256:" and 64 lowercase hex digits. */
export function keyHashProblem(hash: string): string | null {
  if (/^sha256:[0-9a-f]{64}$/.test(hash)) return null;
  // Never shown: a plain key pasted here by mistake is the usual cause, and errors reach the journal.
  return `is not a key hash (value not shown; expected "sha256:" and 64 lowercase hex digits; make one with \`hookd hash-key\`)`;
}

/** profileNameProblem accepts `[[delivery.client_tls]]` / `[[delivery.oauth2]]` names: endpoints refer to them and logs show them. */
export function profileNameProblem(name: string): string | null {
  if (/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) return null;
  return `${JSON.stringify(name)} is not a profile name (1-64 of letters, digits, ., _ and -, starting with a letter or digit)`;
}

/** headerNameProblem accepts HTTP header names (RFC 9110 tokens). */
export function headerNameProblem(name: string): string | null {
  if (/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) return null;
  return `${JSON.stringify(name)} is not an HTTP header name`;
}

/** headerValueProblem accepts non-empty header values without control characters (no header injection). */
export function headerValueProblem(value: string): string | null {
  if (value !== "" && !/[\x00-\x1f\x7f]/.test(value)) return null;
  return value === "" ? "must not be empty" : "must not contain control characters";
}

/** nodeIdProblem accepts a node id for leases and logs: printable, at most 128 characters, no space at either end. */
export function nodeIdProblem(id: string): string | null {
  if (/[\x00-\x1f\x7f-\x9f]/.test(id)) return "must be printable (no control characters)";
  if (id.length > 128) return `must be at most 128 characters (got ${id.length})`;
  if (id.trim() !== id) return `${JSON.stringify(id)} must not start or end with a space`;
  return null;
}

/** envNameProblem accepts environment variable names; "" means the key is unused. */
export function envNameProblem(name: string): string | null {
  if (name === "" || /^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return null;
  return `${JSON.stringify(name)} is not an environment variable name`;
}

/** cronProblem accepts any pattern croner accepts, so the job registry can never fail on it later. */
export function cronProblem(pattern: string): string | null {
  try {
    new Cron(pattern, { paused: true }).stop();
    return null;
  } catch (error) {
    return `${JSON.stringify(pattern)} is not a cron pattern (${error instanceof Error ? error.message : String(error)})`;
  }
}

/** proxyProblem accepts "" (no proxy) or an http:// or https:// URL. */
export function proxyProblem(proxy: string): string | null {
  if (proxy === "") return null;
  let url: URL;
  try {
    url = new URL(proxy);
  } catch {
    return "is not a URL (expected e.g. \"http://proxy.internal:3128\")";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return `must be an http:// or https:// URL, not ${url.protocol}//`;
  return null;
}

/**
 * maskProxy hides the whole userinfo of a proxy URL (user and password: a token is often sent as the
 * user alone); parsed, not pattern-matched, so an "@" inside it cannot leak its tail.
 */
export function maskProxy(proxy: string): string {
  const url = URL.parse(proxy);
  if (url === null) return proxy.includes("@") ? "********" : proxy;
  if (url.username === "" && url.password === "") return proxy;
  url.password = "";
  url.username = "********";
  return url.href;
}

/** whsecProblem accepts Standard Webhooks secrets: "whsec_" followed by non-empty base64. */
export function whsecProblem(secret: string): string | null {
  const body = secret.startsWith("whsec_") ? secret.slice(6) : "";
  const bare = body.replace(/={1,2}$/, "");
  const padded = bare.length !== body.length;
  // Unpadded base64 is accepted too; only a length no encoder produces is not.
  if (/^[A-Za-z0-9+/]+$/.test(bare) && (padded ? body.length % 4 === 0 : bare.length % 4 !== 1)) return null;
  return 'must be "whsec_" followed by base64 (a Standard Webhooks secret)';
}

/** Listen is the address the server binds. */
export interface Listen {
  readonly host: string;
  readonly port: number;
}

const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

/** parseListen reads "host:port" ("0.0.0.0:8080", "localhost:8080", "[::]:8080") with a port of 1-65535; else an error message. */
export function parseListen(text: string): Listen | string {
  const example = 'e.g. "0.0.0.0:8080", "127.0.0.1:8080" or "[::]:8080"';
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d+)$/.exec(text);
  if (!m) return `${JSON.stringify(text)} is not host:port (${example})`;
  const host = m[1] ?? m[2]!;
  if (host === "") return `${JSON.stringify(text)} has no host (${example})`;
  if (m[1] !== undefined ? isIP(host) !== 6 : isIP(host) === 0 && !HOSTNAME.test(host)) {
    return `${JSON.stringify(text)} has a bad host (${example}; IPv6 goes in brackets)`;
  }
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return `${JSON.stringify(text)} has port ${m[3]}; the port must be 1-65535`;
  return { host, port };
}

/** formatListen prints a Listen the way parseListen reads it, bracketing IPv6 hosts. */
export function formatListen(listen: Listen): string {
  return isIP(listen.host) === 6 ? `[${listen.host}]:${listen.port}` : `${listen.host}:${listen.port}`;
}
