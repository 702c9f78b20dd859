import { Elysia } from "elysia";
// Imported as text so `bun build --compile` embeds them in the executable: no files beside it.
import css from "./style.css" with { type: "text" };
import * as clientModule from "./client.ts" with { type: "text" };
import * as auditModule from "./audit-view.ts" with { type: "text" };
import * as chartDataModule from "./chart-data.ts" with { type: "text" };
import * as chartsModule from "./charts.ts" with { type: "text" };
import * as deliveriesModule from "./deliveries-view.ts" with { type: "text" };
import * as domModule from "./dom.ts" with { type: "text" };
import * as optionsModule from "./endpoint-options.ts" with { type: "text" };
import * as routingModule from "./endpoint-routing.ts" with { type: "text" };
import * as endpointsModule from "./endpoints-view.ts" with { type: "text" };
import * as keyScopesModule from "./key-scopes.ts" with { type: "text" };
import * as eventsModule from "./events-view.ts" with { type: "text" };
import * as overviewModule from "./overview.ts" with { type: "text" };
import * as pagingModule from "./paging.ts" with { type: "text" };
import * as payloadModule from "./payload.ts" with { type: "text" };
import * as undeliveredModule from "./undelivered.ts" with { type: "text" };
// uPlot, the chart library, from its package's ESM build and stylesheet: served here, never from a CDN.
import * as uplotModule from "uplot/dist/uPlot.esm.js" with { type: "text" };
import uplotCss from "uplot/dist/uPlot.min.css" with { type: "text" };

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
<link rel="stylesheet" href="/ui/uplot.css">
<link rel="stylesheet" href="/ui/style.css">
<script type="module" src="/ui/app.js"></script>
</head>
<body>
<div id="app"><main><p>Loading the hookd dashboard… (it needs JavaScript)</p></main></div>
</body>
</html>
`;

// The browser modules by the name they import each other as (./name.js), each TypeScript source as text.
const MODULES: Record<string, unknown> = {
  app: clientModule,
  "audit-view": auditModule,
  "chart-data": chartDataModule,
  charts: chartsModule,
  "deliveries-view": deliveriesModule,
  dom: domModule,
  "endpoint-options": optionsModule,
  "endpoint-routing": routingModule,
  "endpoints-view": endpointsModule,
  "key-scopes": keyScopesModule,
  "events-view": eventsModule,
  overview: overviewModule,
  paging: pagingModule,
  payload: payloadModule,
  undelivered: undeliveredModule,
};

const textOf = (module: unknown): string => (module as { default: string }).default;

const scripts = new Map<string, string>();
/** browserScript transpiles a TypeScript module once, on first use (Bun's transpiler is part of the runtime); modules import each other as ./name.js. */
function browserScript(name: string, module: unknown): string {
  let script = scripts.get(name);
  if (script === undefined) {
    script = new Bun.Transpiler({ loader: "ts", target: "browser" }).transformSync(textOf(module));
    scripts.set(name, script);
  }
  return script;
}

function answer(body: string, contentType: string, status = 200): Response {
  return new Response(body, { status, headers: { ...UI_HEADERS, "content-type": contentType } });
}

const JS = "text/javascript; charset=utf-8";

/** uiRoutes serve the dashboard's static shell and its assets (SPEC §3 `GET /ui`, no auth: the data comes from /v1); `GET /` redirects to it (SPEC §11). */
export function uiRoutes() {
  const detail = { hide: true };
  let app = new Elysia({ name: "ui" })
    .get("/", () => new Response(null, { status: 302, headers: { location: "/ui", "cache-control": "no-cache" } }), { detail })
    .get("/ui", () => answer(SHELL, "text/html; charset=utf-8"), { detail })
    .get("/ui/", () => answer(SHELL, "text/html; charset=utf-8"), { detail })
    .get("/ui/uplot.js", () => answer(textOf(uplotModule), JS), { detail })
    .get("/ui/uplot.css", () => answer(uplotCss, "text/css; charset=utf-8"), { detail })
    .get("/ui/style.css", () => answer(css, "text/css; charset=utf-8"), { detail });
  for (const [name, module] of Object.entries(MODULES)) {
    app = app.get(`/ui/${name}.js`, () => answer(browserScript(name, module), JS), { detail }) as typeof app;
  }
  return app.get("/ui/*", () => answer("not found\n", "text/plain; charset=utf-8", 404), { detail });
}
