import { Elysia } from "elysia";
import { contextOf } from "../http/context";
import { ApiError } from "../http/errors";
import { scopeRefusal } from "./route-scopes";

/**
 * adminPlugin starts every /v1 route group. The front handler authenticates /v1 requests before
 * routing; this second check, on the route itself, holds even if the front handler's idea of the
 * path and the router's ever disagree (encodings, odd Host headers). It is also the one place key
 * scopes are enforced (SPEC §14): `route` is the matched pattern ("/v1/webhooks/:id"), looked up in
 * ROUTE_SCOPES before the body is validated or the handler runs.
 */
export function adminPlugin(name: string) {
  return new Elysia({ name }).onTransform(({ request, route }) => {
    const context = contextOf(request);
    if (context.apiKey === null) throw new ApiError("unauthorized", "missing or invalid API key: send Authorization: Bearer <key>");
    const refusal = scopeRefusal(context.apiScopes, request.method, route);
    if (refusal !== null) throw refusal;
  });
}
