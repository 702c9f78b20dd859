import * as v from "valibot";
import type { IpSet } from "../net/cidr";
import { checkEndpointUrl } from "../security/targets";
import { checkedText, choice, list, required, table, text, uniqueList, type Report, type Rule, type TableOf } from "./fields";
import { pemFileProblem } from "./pem";
import { OAUTH2_AUTH_METHODS, type ClientTlsProfile, type Env, type OAuth2Profile } from "./types";
import { envNameProblem, profileNameProblem } from "./values";

// `[[delivery.client_tls]]` and `[[delivery.oauth2]]` (SPEC §2, §9): named outbound profiles that
// endpoints refer to by name. Secrets stay here (files, env); the API only ever sees the names.

const optionalPem = (path: string) => (path === "" ? null : pemFileProblem(path));

/** clientTlsSchema validates one `[[delivery.client_tls]]`: cert and key must be readable PEM files, ca too when set. */
export const clientTlsSchema = table(
  {
    name: required(profileNameProblem),
    cert: required((p) => (p === "" ? "must not be empty (path of the client certificate chain, PEM)" : pemFileProblem(p))),
    key: required((p) => (p === "" ? "must not be empty (path of the client private key, PEM)" : pemFileProblem(p))),
    ca: checkedText("", optionalPem),
  },
  [],
  (t): ClientTlsProfile => t,
);

/** urlPrefixProblem accepts an allow_urls entry: http(s), written as hookd stores endpoint URLs, and with the host closed by a "/". */
export function urlPrefixProblem(prefix: string): string | null {
  const url = URL.parse(prefix);
  if (url === null || (url.protocol !== "https:" && url.protocol !== "http:")) {
    return `${JSON.stringify(prefix)} is not an http(s) URL prefix like "https://sap-gw.example/"`;
  }
  // Without the slash "https://gw.example" would also admit "https://gw.example.attacker.net/".
  if (!/^https?:\/\/[^/?#]+\//i.test(prefix)) {
    return `${JSON.stringify(prefix)} must continue past the host with "/" (e.g. ${JSON.stringify(`${url.origin}/`)}), else other hosts would match it`;
  }
  if (url.username !== "" || url.password !== "") return `${JSON.stringify(prefix)} must not contain credentials`;
  // Endpoint URLs are stored normalized (lowercase host, no default port), so a prefix is compared in that form.
  if (!url.href.startsWith(prefix)) return `${JSON.stringify(prefix)} is not written as URLs are stored; use ${JSON.stringify(url.href)}`;
  return null;
}

/** tokenUrlProblem is the per-key part of the token_url check; the SSRF rules need [delivery] and run in delivery's rule. */
function tokenUrlProblem(url: string): string | null {
  const parsed = URL.parse(url);
  if (parsed === null || (parsed.protocol !== "https:" && parsed.protocol !== "http:")) {
    return `${JSON.stringify(url)} is not an http(s) URL like "https://auth.example/oauth/token"`;
  }
  return null;
}

const oauth2Entries = {
  name: required(profileNameProblem),
  token_url: required(tokenUrlProblem),
  client_id: required((id) => (id === "" ? "must not be empty" : /[\x00-\x1f\x7f]/.test(id) ? "must not contain control characters" : null)),
  client_secret: text(""),
  client_secret_env: checkedText("", envNameProblem),
  scope: text(""),
  audience: text(""),
  auth_method: choice(OAUTH2_AUTH_METHODS, "basic"),
  allow_urls: v.pipe(list(required(urlPrefixProblem), []), v.check((urls) => urls.length > 0, 'must list at least one URL prefix, e.g. ["https://sap-gw.example/"]')),
};

type RawOAuth2 = TableOf<typeof oauth2Entries>;

function secretRule(env: Env): Rule<RawOAuth2> {
  return {
    needs: ["client_secret", "client_secret_env"],
    check({ client_secret, client_secret_env }, report: Report) {
      if (client_secret !== "" && client_secret_env !== "") return report("client_secret", "set either client_secret or client_secret_env, not both");
      if (client_secret === "" && client_secret_env === "") return report("client_secret", "required (set client_secret or client_secret_env)");
      if (client_secret_env !== "" && !env[client_secret_env]) report("client_secret_env", `environment variable ${client_secret_env} is not set or empty`);
    },
  };
}

/** oauth2Schema validates one `[[delivery.oauth2]]` and resolves its client secret from `env`. */
export function oauth2Schema(env: Env) {
  return table(oauth2Entries, [secretRule(env)], (raw): OAuth2Profile => ({
    ...raw,
    client_secret: raw.client_secret !== "" ? raw.client_secret : (env[raw.client_secret_env] ?? ""),
    client_secret_env: raw.client_secret !== "" ? "" : raw.client_secret_env,
  }));
}

/** profileLists are the `[delivery]` keys holding the profiles, each name unique within its list. */
export function profileLists(env: Env) {
  return {
    client_tls: uniqueList(clientTlsSchema, [], "name", (first) => `also delivery.client_tls[${first}].name`),
    oauth2: uniqueList(oauth2Schema(env), [], "name", (first) => `also delivery.oauth2[${first}].name`),
  };
}

/** tokenUrlRule applies the endpoint SSRF rules (require_https, blocked ranges, allow_targets) to every token_url. */
export const tokenUrlRule: Rule<{ oauth2: readonly OAuth2Profile[]; require_https: boolean; allow_targets: IpSet }> = {
  needs: ["oauth2", "require_https", "allow_targets"],
  check({ oauth2, require_https, allow_targets }, report) {
    oauth2.forEach((profile, i) => {
      for (const problem of checkEndpointUrl(profile.token_url, { requireHttps: require_https, allowTargets: allow_targets })) {
        report(["oauth2", i, "token_url"], problem.message);
      }
    });
  },
};
