import { Elysia } from "elysia";
import { contextOf } from "../http/context";
import { ApiError } from "../http/errors";

/**
 * adminPlugin starts every /v1 route group. The front handler authenticates /v1 requests before
 * routing; this second check, on the route itself, holds even if the front handler's idea of the
 * path and the router's ever disagree (encodings, odd Host headers).
 */
export function adminPlugin(name: string) {
  return new Elysia({ name }).onTransform(({ request }) => {
    if (contextOf(request).apiKey === null) throw new ApiError("unauthorized", "missing or invalid API key: send Authorization: Bearer <key>");
  });
}
