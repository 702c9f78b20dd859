// The Events list (paged) and one event's page with its deliveries. A browser module served from /ui/events-view.js.
import { type Json, type ViewDeps, badge, el, field, table, when } from "./dom.js";
import { pagedTable } from "./paging.js";
import { payloadView } from "./payload.js";

function envelope(e: Json): Json {
  return { id: e.id, type: e.type, created_at: e.created_at, data: e.data };
}

/** eventsPage lists events newest first, by type; each links to its page and can show its payload here. */
export async function eventsPage(deps: ViewDeps, type: string): Promise<void> {
  const main = deps.layout("#/events", "Events");
  const types = await deps.api("GET", "/v1/event-types");
  const select = el("select", {
    change: () => {
      location.hash = select.value === "" ? "#/events" : `#/events?type=${encodeURIComponent(select.value)}`;
    },
  });
  select.append(el("option", { value: "" }, "all types"));
  for (const t of types.data) select.append(el("option", { value: t.name, ...(t.name === type ? { selected: true } : {}) }, t.name));
  const detail = el("div", { id: "event-detail" });
  const { node } = await pagedTable(
    {
      path: `/v1/events?limit=100${type ? `&type=${encodeURIComponent(type)}` : ""}`,
      headers: ["Event", "Type", "Origin", "Created", ""],
      cells: (e: Json) => [
        el("a", { href: `#/events/${encodeURIComponent(e.id)}` }, e.id),
        e.type,
        e.origin ?? "",
        when(e.created_at),
        el(
          "button",
          {
            type: "button",
            class: "secondary",
            "aria-label": `Show payload of ${e.id}`,
            click: () => {
              detail.replaceChildren(el("h2", {}, `Payload of ${e.id}`), payloadView(envelope(e)));
              detail.scrollIntoView();
            },
          },
          "Payload",
        ),
      ],
      empty: "No events.",
    },
    deps.api,
    deps.act,
  );
  main.append(el("form", { "aria-label": "Filter", submit: (e: Event) => e.preventDefault() }, field("type-filter", "Type", select)), node, detail);
}

/** eventDetail shows one event's payload and links to each of its deliveries. */
export async function eventDetail(deps: ViewDeps, id: string): Promise<void> {
  const main = deps.layout("#/events", "Event");
  const e = (await deps.api("GET", `/v1/events/${encodeURIComponent(id)}`)).data;
  const deliveries: Json[] = e.deliveries ?? [];
  main.append(
    el("p", {}, el("a", { href: `#/events?type=${encodeURIComponent(e.type)}` }, `← events of type ${e.type}`)),
    el(
      "dl",
      { id: "event-fields" },
      ...([["ID", e.id], ["Type", e.type], ["Origin", e.origin ?? "—"], ["Created", when(e.created_at)]] as [string, string][]).flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]),
    ),
    el("h2", {}, `Deliveries (${deliveries.length})`),
    deliveries.length === 0
      ? el("p", {}, "No endpoint was subscribed to it.")
      : table(
          ["Delivery", "Endpoint", "Status", "Attempts", "Last code", "Last error", "Created"],
          deliveries.map((d) => [
            el("a", { href: `#/deliveries/${encodeURIComponent(d.id)}` }, d.id),
            el("a", { href: `#/endpoints/${encodeURIComponent(d.webhook_id)}` }, d.webhook_id),
            badge(d.status),
            d.attempts,
            d.last_status_code ?? "—",
            d.last_error ?? "",
            when(d.created_at),
          ]),
          "Deliveries of this event",
        ),
    el("h2", {}, "Payload"),
    payloadView(envelope(e), "event-payload"),
  );
}
