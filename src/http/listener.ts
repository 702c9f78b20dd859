import type { Server } from "bun";
import type { Logger } from "../log";
import { normalizeIp } from "../net/cidr";
import { tlsFilesProblem } from "../net/tls-files";
import { errorResponse, toApiError } from "./errors";
import type { HttpHandler } from "./server";

/** TlsFiles names the PEM files HTTPS is served with; they are read again on every reload. */
export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
}

/** Listener is the socket side of the server: start, reload the certificate, stop. */
export interface Listener {
  readonly port: number;
  readonly scheme: "http" | "https";
  /** reloadTls swaps in the certificate files' current contents (or `files`, new paths) without dropping connections. */
  reloadTls(files?: TlsFiles): Promise<"reloaded" | "no_tls">;
  stop(): Promise<void>;
}

/**
 * startListener binds host:port. With TLS it binds with SO_REUSEPORT so a reload can open a second
 * listener with the new certificate on the same port and then stop the old one gracefully
 * (Bun's server.reload() cannot change TLS). A plain probe bind first keeps a second hookd from
 * silently sharing the port through that option.
 */
export function startListener(host: string, port: number, initialTls: TlsFiles | null, http: HttpHandler, log: Logger): Listener {
  let tls = initialTls;
  const bind = (p: number, files: TlsFiles | null) =>
    Bun.serve({
      hostname: host,
      port: p,
      reusePort: files !== null,
      tls: files ? { cert: Bun.file(files.cert), key: Bun.file(files.key) } : undefined,
      // The front handler enforces max_body itself (Content-Length first, then while streaming) so the
      // 413 carries the error envelope and X-Request-ID; Bun's own limit would answer a bare 413.
      maxRequestBodySize: Number.MAX_SAFE_INTEGER,
      fetch: (request, srv) => http.handle(request, normalizeIp(srv.requestIP(request)?.address ?? "") ?? ""),
      error: (error) => errorResponse(toApiError(error), ""),
    });
  if (tls !== null && port !== 0) Bun.listen({ hostname: host, port, socket: { data() {} } }).stop(true);
  let current: Server<undefined> = bind(port, tls);
  const boundPort = current.port ?? port;
  return {
    port: boundPort,
    scheme: tls ? "https" : "http",
    async reloadTls(files) {
      if (tls === null) return "no_tls";
      const wanted = files ?? tls;
      // A problem is explained by file and in words; the old certificate keeps serving.
      const problem = tlsFilesProblem(wanted.cert, wanted.key);
      if (problem !== null) throw new Error(problem);
      const next = bind(boundPort, wanted);
      tls = wanted;
      const old = current;
      current = next;
      await old.stop(false);
      log.info("TLS certificate reloaded", { cert: wanted.cert });
      return "reloaded";
    },
    async stop() {
      await current.stop();
    },
  };
}
