import { Elysia } from "elysia";
// Imported as text so `bun build --compile` embeds them in the executable: no files beside it.
import css from "./style.css" with { type: "text" };
import * as clientModule from "./client.ts" with { type: "text" };
import * as optionsModule from "./endpoint-options.ts" with { type: "text" };
import * as routingModule from "./endpoint-routing.ts" with { type: "text" };

/** Headers on every /ui answer: the page may load only its own script and stylesheet, and nothing is sniffed. */
export const UI_HEADERS = {
  "content-security-policy": "default-src 'self'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cache-control": "no-cache",
} as const;

// The static shell: no inline script or style (the CSP forbids both), no stored data.
const SHELL = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>hookd</title>
<link rel="stylesheet" href="/ui/style.css">
<script type="module" src="/ui/app.js"></script>
</head>
<body>
<div id="app"><main><p>Loading the hookd dashboard… (it needs JavaScript)</p></main></div>
</body>
</html>
`;

const scripts = new Map<string, string>();
/** browserScript transpiles a TypeScript module once, on first use (Bun's transpiler is part of the runtime); modules import each other as ./name.js. */
function browserScript(name: string, module: unknown): string {
  let script = scripts.get(name);
  if (script === undefined) {
    script = new Bun.Transpiler({ loader: "ts", target: "browser" }).transformSync((module as { default: string }).default);
    scripts.set(name, script);
  }
  return script;
}

function answer(body: string, contentType: string, status = 200): Response {
  return new Response(body, { status, headers: { ...UI_HEADERS, "content-type": contentType } });
}

/** uiRoutes serve the dashboard's static shell and its assets (SPEC §3 `GET /ui`, no auth: the data comes from /v1). */
export function uiRoutes() {
  const detail = { hide: true };
  return new Elysia({ name: "ui" })
    .get("/ui", () => answer(SHELL, "text/html; charset=utf-8"), { detail })
    .get("/ui/", () => answer(SHELL, "text/html; charset=utf-8"), { detail })
    .get("/ui/app.js", () => answer(browserScript("app", clientModule), "text/javascript; charset=utf-8"), { detail })
    .get("/ui/endpoint-options.js", () => answer(browserScript("endpoint-options", optionsModule), "text/javascript; charset=utf-8"), { detail })
    .get("/ui/endpoint-routing.js", () => answer(browserScript("endpoint-routing", routingModule), "text/javascript; charset=utf-8"), { detail })
    .get("/ui/style.css", () => answer(css, "text/css; charset=utf-8"), { detail })
    .get("/ui/*", () => answer("not found\n", "text/plain; charset=utf-8", 404), { detail });
}
