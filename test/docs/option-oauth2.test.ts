import { afterAll, describe, expect, test } from "bun:test";
import { generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load";
import { freePort, waitFor } from "../support/process";
import { type Received, startReceiver } from "../support/receiver";
import { startTestServer } from "../support/test-server";
import { admin, Cleanups, DELIVERY, deliveriesOf, guide, optionBlock, publish, serve, settle } from "./option-rig";
import { where } from "./snippets";

// docs/receivers.md, "OAuth2": hookd loads the printed profile (its token URL pointing at a small token server
// here, its allow_urls at a recording proxy in front of the guide's receiver), and the receiver validates the
// JWTs that token server issues. The token server can hand out an already expired token, which the receiver
// refuses with 401, which must make hookd fetch a new token once and send again within the same attempt.

const AUTH = "https://auth.example";
const ERP = "https://erp-bridge.example";
const SECRET_ENV = "HOOKD_ERP_BRIDGE_CLIENT_SECRET";
const cleanups = new Cleanups();
afterAll(() => cleanups.run());

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

function jwt(key: KeyObject, kid: string, claims: Record<string, unknown>): string {
  const signed = `${b64url({ alg: "RS256", typ: "JWT", kid })}.${b64url(claims)}`;
  return `${signed}.${sign("RSA-SHA256", Buffer.from(signed), key).toString("base64url")}`;
}

interface TokenRequest {
  headers: Record<string, string>;
  form: Record<string, string>;
  token: string | null;
}

/** startTokenServer is a client-credentials token server issuing RS256 JWTs, with its keys at /.well-known/jwks.json. */
function startTokenServer(clients: Record<string, string>) {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const requests: TokenRequest[] = [];
  const state = { expiredNext: 0, base: "" };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const path = new URL(req.url).pathname;
      if (path === "/.well-known/jwks.json") return Response.json({ keys: [{ ...publicKey.export({ format: "jwk" }), kid: "k1", alg: "RS256", use: "sig" }] });
      if (path !== "/oauth/token" || req.method !== "POST") return new Response("not found", { status: 404 });
      const headers = Object.fromEntries(req.headers);
      const form = Object.fromEntries(new URLSearchParams(await req.text()));
      const record: TokenRequest = { headers, form, token: null };
      requests.push(record);
      let [id, secret] = [form.client_id, form.client_secret];
      const basic = /^Basic (.+)$/.exec(headers.authorization ?? "");
      if (basic) {
        const decoded = Buffer.from(basic[1]!, "base64").toString("utf8");
        const colon = decoded.indexOf(":");
        const unform = (s: string) => decodeURIComponent(s.replace(/\+/g, " "));
        [id, secret] = [unform(decoded.slice(0, colon)), unform(decoded.slice(colon + 1))];
      }
      if (form.grant_type !== "client_credentials") return Response.json({ error: "unsupported_grant_type" }, { status: 400 });
      if (id === undefined || clients[id] !== secret) return Response.json({ error: "invalid_client" }, { status: 401 });
      const now = Math.floor(Date.now() / 1000);
      const expired = state.expiredNext > 0;
      if (expired) state.expiredNext--;
      const claims = { iss: `${state.base}/`, sub: id, client_id: id, aud: form.audience, scope: form.scope, iat: now, exp: expired ? now - 3600 : now + 600 };
      record.token = jwt(privateKey, "k1", claims);
      return Response.json({ access_token: record.token, token_type: "Bearer", expires_in: 3600 });
    },
  });
  state.base = `http://127.0.0.1:${server.port}`;
  return { url: state.base, requests, state, privateKey, stop: () => server.stop(true) };
}

describe("docs/receivers.md: OAuth2", () => {
  test("hookd gets tokens as printed, the receiver validates them, and a 401 gets one new token within the attempt", async () => {
    const secret = randomBytes(16).toString("hex");
    const tokens = startTokenServer({ hookd: secret });
    cleanups.add(() => tokens.stop());
    const snippetPort = freePort();
    const snippetUrl = `http://127.0.0.1:${snippetPort}`;

    // The proxy in front of the receiver records what hookd sends; `refuseAll` makes it answer 401 itself.
    const proxyState = { refuseAll: false };
    const proxy = startReceiver(async (request, _n, body) => {
      if (proxyState.refuseAll) return new Response("refused by the test", { status: 401, headers: { "WWW-Authenticate": 'Bearer error="invalid_token"' } });
      const headers = Object.fromEntries([...request.headers].filter(([name]) => name !== "host" && name !== "content-length"));
      const answer = await fetch(`${snippetUrl}${new URL(request.url).pathname}`, { method: "POST", headers, body });
      return new Response(await answer.text(), { status: answer.status, headers: { "www-authenticate": answer.headers.get("www-authenticate") ?? "" } });
    });
    cleanups.add(() => proxy.stop());
    const sent = (eventId: string): Received[] => proxy.requests.filter((r) => r.headers["webhook-id"] === eventId);

    // The printed profile; two variants of it: auth_method "post", and a wrong client secret.
    const profile = optionBlock("oauth2", "toml", "config");
    const filled = profile.code.split(AUTH).join(tokens.url).split(ERP).join(proxy.url);
    expect(filled).toContain(`allow_urls = ["${proxy.url}/"]`);
    const env = { [SECRET_ENV]: secret, HOOKD_WRONG_SECRET: "not-the-secret" };
    expect(() => loadConfig(profile.code, env), where(profile)).not.toThrow();
    expect(() => loadConfig(`[delivery]\n${DELIVERY}\n\n${filled}`, env), where(profile)).not.toThrow();
    const body = (toml: string) => toml.trim().split("\n").slice(1).join("\n");
    expect(filled.trim().split("\n")[0]).toBe("[[delivery.oauth2]]");
    const post = body(filled).replace('name = "erp-bridge-oauth"', 'name = "erp-bridge-oauth-post"').replace('auth_method = "basic"', 'auth_method = "post"');
    const wrong = body(filled).replace('name = "erp-bridge-oauth"', 'name = "erp-bridge-oauth-wrong"').replace(SECRET_ENV, "HOOKD_WRONG_SECRET");
    expect(post).toContain('auth_method = "post"');
    expect(wrong).toContain("HOOKD_WRONG_SECRET");
    const server = await startTestServer(
      {
        delivery: `${DELIVERY}\nretry_schedule = ["1h"]`,
        "[[delivery.oauth2]]": body(filled),
        "[[delivery.oauth2]] # post": post,
        "[[delivery.oauth2]] # wrong": wrong,
      },
      { env },
    );
    cleanups.add(() => server.stop());

    const { snippet } = await serve(cleanups, optionBlock("oauth2", "js"), { [AUTH]: tokens.url }, { port: snippetPort });
    const out = snippet.output;
    const created = await admin(server, optionBlock("oauth2", "sh", "create"), { [ERP]: proxy.url });
    expect(created.data, JSON.stringify(created)).toMatchObject({ url: `${proxy.url}/hook`, oauth2: "erp-bridge-oauth" });
    const endpointId: string = created.data.id;

    // 1. The first token is already expired: the receiver answers 401, hookd fetches a new token once and
    //    sends again, all in one attempt.
    tokens.state.expiredNext = 1;
    const first = await publish(server, { invoice_no: "INV-2025-1042" });
    const delivered = await settle(server, first, (d) => d.attempts > 0, `${first} attempted`, out);
    expect(delivered, JSON.stringify(delivered)).toMatchObject({ status: "delivered", attempts: 1, last_status_code: 202 });
    expect(delivered.attempt_history).toHaveLength(1);
    expect(tokens.requests).toHaveLength(2);
    expect(sent(first).map((r) => r.headers.authorization)).toEqual([`Bearer ${tokens.requests[0]!.token}`, `Bearer ${tokens.requests[1]!.token}`]);
    await waitFor(() => out().includes(`accepted ${first} from client hookd`), 5000, "the receiver to accept the fresh token");
    expect(out()).toContain(`refused ${first}: token expired`);

    // 2. What the token server saw is what the guide prints (client_secret_basic).
    const printed = guide.find((b) => b.lang === "http" && b.code.startsWith("POST /oauth/token "));
    expect(printed, "the printed token request").toBeDefined();
    const [head, printedBody] = printed!.code.trim().split("\n\n") as [string, string];
    const printedHeaders = Object.fromEntries(head.split("\n").slice(1).map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
    const seen = tokens.requests[0]!;
    expect(seen.form).toEqual(Object.fromEntries(new URLSearchParams(printedBody)));
    expect(seen.headers["content-type"]).toBe(printedHeaders["content-type"]);
    expect(seen.headers.accept).toBe(printedHeaders.accept);
    expect(Buffer.from(printedHeaders.authorization!.replace("Basic ", ""), "base64").toString()).toBe("hookd:YOUR_CLIENT_SECRET");
    expect(seen.headers.authorization).toBe(`Basic ${Buffer.from(`hookd:${secret}`).toString("base64")}`);

    // 3. The token is reused: another event needs no token request.
    const second = await publish(server, { invoice_no: "INV-2025-1043" });
    expect((await settle(server, second, (d) => d.attempts > 0, `${second} attempted`, out)).status).toBe("delivered");
    expect(tokens.requests).toHaveLength(2);

    // 4. A 401 to the fresh token too: exactly one refresh and one resend, then the attempt fails.
    proxyState.refuseAll = true;
    const third = await publish(server, { invoice_no: "INV-2025-1044" });
    const refused = await settle(server, third, (d) => d.attempts > 0, `${third} attempted`, out);
    expect(refused).toMatchObject({ status: "failed", attempts: 1, last_status_code: 401 });
    expect(sent(third)).toHaveLength(2);
    expect(tokens.requests).toHaveLength(3);
    proxyState.refuseAll = false;

    // 5. auth_method "post": the client id and secret in the form, no Authorization header.
    const viaPost = await server.api("POST", "/v1/webhooks", { url: `${proxy.url}/post`, events: ["invoice.*"], oauth2: "erp-bridge-oauth-post" });
    expect(viaPost.status, viaPost.text).toBe(201);
    // 6. A wrong client secret: the token request fails, the attempt's error starts with "oauth2:", nothing is sent.
    const viaWrong = await server.api("POST", "/v1/webhooks", { url: `${proxy.url}/wrong`, events: ["invoice.*"], oauth2: "erp-bridge-oauth-wrong" });
    expect(viaWrong.status, viaWrong.text).toBe(201);
    await server.api("PATCH", `/v1/webhooks/${endpointId}`, { status: "disabled" });
    const fourth = await publish(server, { invoice_no: "INV-2025-1045" }, 2);
    await waitFor(async () => (await deliveriesOf(server, fourth)).every((d) => d.attempts > 0), 8000, "both endpoints attempted");
    const byUrl = Object.fromEntries((await deliveriesOf(server, fourth)).map((d) => [(d as unknown as { webhook_id: string }).webhook_id, d]));
    expect(byUrl[viaPost.body.data.id]).toMatchObject({ status: "delivered", last_status_code: 202 });
    const postRequest = tokens.requests.find((r) => r.form.client_secret !== undefined);
    expect(postRequest?.form).toEqual({ grant_type: "client_credentials", scope: "webhooks.write", audience: "erp-bridge", client_id: "hookd", client_secret: secret });
    expect(postRequest?.headers.authorization).toBeUndefined();
    const failed = byUrl[viaWrong.body.data.id]!;
    expect(failed.status).toBe("failed");
    expect(failed.last_error).toMatch(/^oauth2: token request failed: HTTP 401 from 127\.0\.0\.1:\d+ \(invalid_client\)$/);
    expect(proxy.requests.some((r) => r.path === "/wrong")).toBe(false);

    // 7. allow_urls, and an Authorization header beside a profile: refused at create and PATCH.
    const outside = await server.api("POST", "/v1/webhooks", { url: `http://127.0.0.1:${freePort()}/hook`, events: ["*"], oauth2: "erp-bridge-oauth" });
    expect(outside.status).toBe(422);
    expect(outside.body.error.details.map((d: { field: string }) => d.field)).toEqual(["oauth2"]);
    const moved = await server.api("PATCH", `/v1/webhooks/${endpointId}`, { url: `http://127.0.0.1:${freePort()}/hook` });
    expect(moved.status).toBe(422);
    const withHeader = await server.api("POST", "/v1/webhooks", { url: `${proxy.url}/h`, events: ["*"], oauth2: "erp-bridge-oauth", headers: { Authorization: "Bearer x" } });
    expect(withHeader.status).toBe(422);
    const unknown = await server.api("POST", "/v1/webhooks", { url: `${proxy.url}/u`, events: ["*"], oauth2: "erp-bridge-oauht" });
    expect(unknown.body.error?.details).toEqual([expect.objectContaining({ field: "oauth2", code: "unknown_profile" })]);

    // 8. Tokens and the client secret appear in no answer and nowhere in the database.
    const answers = [
      (await server.api("GET", `/v1/webhooks/${endpointId}`)).text,
      JSON.stringify(await deliveriesOf(server, first)),
      JSON.stringify(await deliveriesOf(server, third)),
      JSON.stringify(await deliveriesOf(server, fourth)),
    ].join("\n");
    const files = ["hookd.db", "hookd.db-wal"].map((f) => join(server.dir, f)).filter(existsSync).map((f) => readFileSync(f).toString("latin1"));
    for (const leak of [secret, ...tokens.requests.map((r) => r.token).filter((t): t is string => t !== null)]) {
      expect(answers.includes(leak), "an API answer holds a token or the secret").toBe(false);
      expect(files.some((f) => f.includes(leak)), "the database holds a token or the secret").toBe(false);
    }

    // 9. The receiver on its own: no token, a token signed by another key, a token for another audience.
    const direct = (authorization?: string) =>
      fetch(`${snippetUrl}/hook`, { method: "POST", body: "{}", headers: authorization ? { authorization } : {} }).then(async (r) => [r.status, await r.text(), r.headers.get("www-authenticate")]);
    expect(await direct()).toEqual([401, "no bearer token", 'Bearer error="invalid_token"']);
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: `${tokens.url}/`, aud: "erp-bridge", scope: "webhooks.write", client_id: "hookd", exp: now + 600 };
    const stranger = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
    expect((await direct(`Bearer ${jwt(stranger, "k1", claims)}`)).slice(0, 2)).toEqual([401, "bad signature"]);
    expect((await direct(`Bearer ${jwt(tokens.privateKey, "k1", { ...claims, aud: "another-api" })}`)).slice(0, 2)).toEqual([401, "wrong audience"]);
    expect((await direct(`Bearer ${jwt(tokens.privateKey, "k1", { ...claims, scope: "read" })}`)).slice(0, 2)).toEqual([401, "missing scope webhooks.write"]);
    expect((await direct(`Bearer ${jwt(tokens.privateKey, "k1", claims)}`)).slice(0, 2)).toEqual([202, "queued"]);
  }, 60_000);
});
