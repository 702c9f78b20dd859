import { hashApiKey } from "../security/api-keys";

/** hashKeyCommand reads one key from stdin (a single trailing newline is not part of it) and prints its hash, with the config line to paste on stderr. */
export async function hashKeyCommand(stdin: () => Promise<string>, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const text = await stdin();
  const key = text.endsWith("\r\n") ? text.slice(0, -2) : text.endsWith("\n") ? text.slice(0, -1) : text;
  if (key === "") {
    err("hash-key: no key on stdin; e.g. printf %s 'my-long-random-key' | hookd hash-key\n");
    return 2;
  }
  if (/\s/.test(key)) {
    err("hash-key: the key contains whitespace; a Bearer token cannot carry it\n");
    return 2;
  }
  if (key.length < 16) err("hash-key: warning: keys shorter than 16 characters are easy to guess\n");
  const hash = hashApiKey(key);
  out(`${hash}\n`);
  // stdout stays the bare hash for scripts; the config line to paste goes to stderr.
  err(`hash-key: in the config: [api] keys = [ { name = "ops", hash = "${hash}", scopes = ["admin"] } ]\n`);
  err(`hash-key: scopes: "read" (GETs), "publish" (POST /v1/events, /v1/resources), "admin" (everything, the default)\n`);
  return 0;
}
