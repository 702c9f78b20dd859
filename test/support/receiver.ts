/** Received is one request a receiver got, as it arrived. */
export interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
  at: number;
}

/** Handler decides a receiver's answer; `n` counts requests from 0; `body` is the body as it arrived (the request's own is already read). */
export type Handler = (request: Request, n: number, body: Uint8Array<ArrayBuffer>) => Response | Promise<Response>;

/** Receiver is a real local HTTP server on 127.0.0.1 that records every request it gets. */
export interface Receiver {
  readonly url: string;
  readonly port: number;
  readonly requests: Received[];
  /** started counts requests that arrived, including ones whose answer is still pending. */
  readonly started: number;
  setHandler(handler: Handler): void;
  stop(): Promise<void>;
}

/** startReceiver listens on 127.0.0.1 (port 0 = any free port) and answers 200 unless told otherwise. */
export function startReceiver(handler: Handler = () => new Response("ok"), port = 0): Receiver {
  let current = handler;
  let n = 0;
  const requests: Received[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port,
    idleTimeout: 60,
    async fetch(request) {
      const index = n++;
      const bytes = new Uint8Array(await request.arrayBuffer());
      const body = new TextDecoder().decode(bytes);
      const headers: Record<string, string> = {};
      request.headers.forEach((value, key) => {
        headers[key] = value;
      });
      const answer = await current(request, index, bytes);
      requests.push({ path: new URL(request.url).pathname, headers, body, at: Date.now() });
      return answer;
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    port: server.port!,
    requests,
    get started() {
      return n;
    },
    setHandler(h) {
      current = h;
    },
    async stop() {
      await server.stop(true);
    },
  };
}

/** sequence answers with the given statuses in turn (counting its own calls), then repeats the last one. */
export function sequence(...statuses: number[]): Handler {
  let n = 0;
  return () => {
    const i = n++;
    return new Response(`answer ${i}`, { status: statuses[Math.min(i, statuses.length - 1)] });
  };
}
