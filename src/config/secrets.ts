import { databaseUrlHasPassword } from "./storage";
import type { Config } from "./types";

/** inlineSecrets lists the key paths whose secret is written in the config file itself rather than named by a `*_env` key. */
export function inlineSecrets(config: Config): string[] {
  const out: string[] = [];
  config.sources.forEach((s, i) => {
    if (s.secret !== "" && s.secret_env === "") out.push(`sources[${i}].secret`);
  });
  config.delivery.oauth2.forEach((p, i) => {
    if (p.client_secret_env === "") out.push(`delivery.oauth2[${i}].client_secret`);
  });
  if (config.storage.url_env === "" && databaseUrlHasPassword(config.storage.url)) out.push("storage.url");
  const proxy = URL.parse(config.delivery.proxy);
  if (proxy !== null && (proxy.username !== "" || proxy.password !== "")) out.push("delivery.proxy");
  return out;
}

/**
 * exposedTo says who besides the owner can read a file of this mode and group: "others", "group", or
 * null. The group is no exposure when it is the reader's own (install.sh makes the config root:hookd 0640).
 */
export function exposedTo(mode: number, fileGid: number, ownGid: number | null): "others" | "group" | null {
  if ((mode & 0o004) !== 0) return "others";
  if ((mode & 0o040) !== 0 && fileGid !== ownGid) return "group";
  return null;
}
