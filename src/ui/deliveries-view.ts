// An endpoint's deliveries (paged, with its options, routing panel and "recover since") and one
// delivery's page. A browser module served from /ui/deliveries-view.js.
import { type Child, type Json, type ViewDeps, badge, el, field, table, when } from "./dom.js";
import { optionsView } from "./endpoint-options.js";
import { routingPanel } from "./endpoint-routing.js";
import { pagedTable } from "./paging.js";
import { payloadView } from "./payload.js";

/** deliveriesView binds the pages to app.js's API call, error reporting and layout. */
export function deliveriesView({ api, act, say, layout, can }: ViewDeps): {
  deliveries(webhookId: string, status: string): Promise<void>;
  deliveryDetail(id: string): Promise<void>;
} {
  async function deliveries(webhookId: string, status: string): Promise<void> {
    const main = layout("#/endpoints", "Deliveries");
    const w = (await api("GET", `/v1/webhooks/${encodeURIComponent(webhookId)}`).catch(() => ({ data: { id: webhookId, url: "(deleted)" } }))).data;
    const select = el("select", { change: () => act(() => deliveries(webhookId, select.value)) });
    for (const s of ["", "pending", "failed", "delivered", "expired"]) {
      const o = el("option", { value: s }, s === "" ? "all" : s);
      if (s === status) o.selected = true;
      select.append(o);
    }
    const since = el("input", { type: "datetime-local", required: true });
    const recover = el(
      "form",
      {
        "aria-label": "Recover since",
        submit: (e: Event) => {
          e.preventDefault();
          void act(async () => {
            const r = (await api("POST", `/v1/webhooks/${w.id}/recover`, { since: new Date(since.value).toISOString() })).data;
            await deliveries(webhookId, status);
            say(`${r.recovered} deliveries re-enqueued.`);
          });
        },
      },
      field("recover-since", "Re-send failed/expired deliveries created since", since),
      el("button", { type: "submit", class: "secondary" }, "Recover since"),
    );
    const { node, first } = await pagedTable(
      {
        path: `/v1/webhooks/${encodeURIComponent(webhookId)}/deliveries?limit=100${status ? `&status=${status}` : ""}`,
        headers: ["Delivery", "Event type", "Status", "Attempts", "Last code", "Last error", "Created", ""],
        cells: (d: Json) => [
          el("a", { href: `#/deliveries/${encodeURIComponent(d.id)}` }, d.id),
          el("a", { href: `#/events/${encodeURIComponent(d.event_id)}` }, d.event_type),
          badge(d.status),
          d.attempts,
          d.last_status_code ?? "—",
          d.last_error ?? "",
          when(d.created_at),
          d.status === "pending" || !can().change ? "" : retryButton(d, () => deliveries(webhookId, status)),
        ],
        empty: "No deliveries.",
      },
      api,
      act,
    );
    main.append(
      el("p", {}, "Endpoint ", el("strong", {}, w.url), " ", el("span", { class: "muted" }, w.id)),
      w.ordering === undefined ? "" : optionsView(w),
      w.ordering === undefined ? "" : routingPanel(w, { api, act, say: (text) => say(text), reload: () => deliveries(webhookId, status), deliveries: first, readOnly: !can().change }),
      el(
        "form",
        { "aria-label": "Filter", submit: (e: Event) => e.preventDefault() },
        field("status-filter", "Status", select),
        el("button", { type: "button", class: "secondary", click: () => act(() => deliveries(webhookId, select.value)) }, "Refresh"),
      ),
      can().change ? recover : "",
      node,
    );
  }

  function retryButton(d: Json, after: () => Promise<void>): HTMLElement {
    return el(
      "button",
      {
        type: "button",
        class: "secondary",
        "aria-label": `Retry ${d.id}`,
        click: () =>
          act(async () => {
            await api("POST", `/v1/deliveries/${d.id}/retry`);
            await after();
            say(`Delivery ${d.id} queued again.`);
          }),
      },
      "Retry",
    );
  }

  async function deliveryDetail(id: string): Promise<void> {
    const main = layout("#/endpoints", "Delivery");
    const d = (await api("GET", `/v1/deliveries/${encodeURIComponent(id)}`)).data;
    const event = await api("GET", `/v1/events/${encodeURIComponent(d.event_id)}`).catch(() => null);
    main.append(
      el("p", {}, el("a", { href: `#/endpoints/${encodeURIComponent(d.webhook_id)}` }, "← deliveries of this endpoint")),
      el(
        "dl",
        { id: "delivery-fields" },
        ...(
          [
            ["ID", d.id],
            ["Status", badge(d.status)],
            ["Event", el("a", { href: `#/events/${encodeURIComponent(d.event_id)}` }, `${d.event_type} (${d.event_id})`)],
            ["Attempts", d.attempts],
            // A FIFO delivery behind its lane's head has no due time until the head finishes.
            ["Next attempt", d.status === "pending" && d.next_attempt_at === null && d.sequence !== null ? "waiting for the delivery before it in its FIFO lane" : when(d.next_attempt_at)],
            ...(d.sequence === null || d.sequence === undefined ? [] : [["Sequence (FIFO lane)", d.sequence] as [string, Child]]),
            ["Last status code", d.last_status_code ?? "—"],
            ["Last error", d.last_error ?? "—"],
            ["Created", when(d.created_at)],
            ["Delivered", when(d.delivered_at)],
          ] as [string, Child][]
        ).flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]),
      ),
      d.status === "pending" ? el("p", { class: "muted" }, "Pending: the next attempt is scheduled.") : can().change ? retryButton(d, () => deliveryDetail(id)) : "",
      el("h2", {}, "Attempts"),
      d.attempt_history.length === 0
        ? el("p", {}, "No attempts yet.")
        : table(
            ["Time", "Status code", "Duration", "Error", "Response (first 2 KiB, as text)"],
            d.attempt_history.map((a: Json) => [when(a.attempted_at), a.status_code ?? "—", `${a.duration_ms} ms`, a.error ?? "", el("pre", {}, a.response || "(empty)")]),
          ),
      el("h2", {}, "Event payload"),
      event
        ? payloadView({ id: event.data.id, type: event.data.type, created_at: event.data.created_at, data: event.data.data }, "event-payload")
        : el("pre", { id: "event-payload" }, "(event no longer stored)"),
    );
  }

  return { deliveries, deliveryDetail };
}
