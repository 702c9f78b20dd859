import { VERSION } from "../version";

/** USAGE is what `hookd help` prints: every command, the config search path and the exit codes. */
export const USAGE = `hookd ${VERSION} — self-hosted webhook hub: receives signed events, stores them durably,
delivers them as signed webhooks with retries.

Usage:
  hookd serve [--config PATH]         run the server (-c PATH works too)
  hookd check-config [--config PATH]  validate the config and print it with defaults filled in (secrets masked)
  hookd hash-key                      read an API key on stdin, print the hash for [api] keys
  hookd backup [--config PATH] [--force] DEST
                                      consistent copy of the database, safe while serve runs
                                      (refuses an existing DEST unless --force; PostgreSQL: use pg_dump)
  hookd cleanup [--config PATH]       run the retention job once and print what it removed
  hookd copy-storage [--config PATH] (URL | --url-env NAME)
                                      copy the SQLite database into an empty PostgreSQL one
                                      (serve stopped); --url-env keeps a password out of ps
  hookd version                       print the version
  hookd help                          this text

Config: --config PATH, else ./hookd.toml, else /etc/hookd/hookd.toml.
  Every key and its default is documented in config.example.toml.
  [storage] path = SQLite (default); [storage] url or url_env = PostgreSQL, any number of nodes.
  SIGHUP (systemctl reload hookd) re-reads the file and applies it live: sources, keys, allowlists,
  [events], [delivery], [alerts], [retention], [log], TLS files. An invalid file changes nothing
  (each error is logged with its key path); listen and [storage] need a restart.

Add an admin API key:
  printf %s "$(openssl rand -hex 32)" | tee key.txt | hookd hash-key
  then in the config:  [api] keys = [ { name = "ops", hash = "sha256:…", scopes = ["admin"] } ]
  and call the API with:  Authorization: Bearer <the key>
  scopes (default ["admin"]): "read" = every GET under /v1 but /v1/audit; "publish" = POST /v1/events
  and /v1/resources; "admin" = everything. A key outside its scopes gets 403 insufficient_scope.
  Every change made with a key is in the audit log: GET /v1/audit (admin keys; [retention] audit).

Logs: one JSON object per line on stdout; [log] level sets how much.

Exit codes: 0 ok, 1 runtime failure (port in use, database held by another serve), 2 bad usage or invalid config.
`;
