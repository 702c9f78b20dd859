// The Endpoints page: create (the form clears after success), edit, enable/disable, test, rotate
// (random or a given secret), delete; the list pages with "load more". A browser module served from
// /ui/endpoints-view.js.
import { type Child, type Json, type ViewDeps, badge, el, field, when } from "./dom.js";
import { optionsEditor } from "./endpoint-options.js";
import { pagedTable } from "./paging.js";

/** parseEvents reads the events field: filters separated by commas or spaces. */
export function parseEvents(text: string): string[] {
  return text.split(/[\s,]+/).filter((s) => s !== "");
}

/** endpointsView binds the page to app.js's API call, error reporting and layout. */
export function endpointsView({ api, act, say, layout, can }: ViewDeps): { endpoints(): Promise<void> } {
  function showSecret(where: HTMLElement, id: string, secret: string, verb: string): void {
    const code = el("code", { id: "secret-value" }, secret);
    const copy = el(
      "button",
      {
        type: "button",
        click: async () => {
          try {
            await navigator.clipboard.writeText(secret);
            say("Secret copied to the clipboard.");
          } catch {
            const range = document.createRange();
            range.selectNodeContents(code);
            getSelection()?.removeAllRanges();
            getSelection()?.addRange(range);
            say("Copy blocked by the browser: the secret is selected, press Ctrl+C.");
          }
        },
      },
      "Copy secret",
    );
    const box = el(
      "section",
      { class: "secret", id: "secret-box", "aria-labelledby": "secret-title", tabindex: "-1" },
      el("h2", { id: "secret-title" }, `Signing secret for ${id} (${verb})`),
      el("p", {}, el("strong", {}, "Copy it now: it won't be shown again.")),
      el("p", {}, code),
      copy,
      " ",
      el("button", { type: "button", class: "secondary", click: () => box.remove() }, "I have stored it"),
    );
    where.prepend(box);
    box.focus();
  }

  async function endpoints(): Promise<void> {
    const main = layout("#/endpoints", "Endpoints");
    const top = el("div", {});
    const url = el("input", { type: "url", required: true, placeholder: "https://example.com/hook" });
    const events = el("input", { type: "text", required: true, value: "*" });
    const description = el("input", { type: "text" });
    const options = optionsEditor("new", null);
    const create = el(
      "form",
      {
        "aria-label": "New endpoint",
        submit: (e: Event) => {
          e.preventDefault();
          void act(async () => {
            const body: Json = { url: url.value.trim(), events: parseEvents(events.value) };
            if (description.value.trim() !== "") body.description = description.value.trim();
            Object.assign(body, options.body());
            const made = (await api("POST", "/v1/webhooks", body)).data;
            // Cleared for the next one: URL, description and options back to empty, events to "*".
            create.reset();
            options.section.removeAttribute("open");
            await listEndpoints(list, top);
            say(`Endpoint ${made.id} created.`);
            showSecret(top, made.id, made.secret, "new endpoint");
          });
        },
      },
      field("new-url", "URL", url),
      field("new-events", "Events (comma-separated, * = all)", events),
      field("new-description", "Description", description),
      options.section,
      el("button", { type: "submit" }, "Create endpoint"),
    );
    const list = el("div", { id: "endpoint-list" });
    // A key without the admin scope sees the list only: no form it could not submit.
    if (can().change) main.append(top, el("h2", {}, "New endpoint"), create, el("h2", {}, "Endpoints"), list);
    else main.append(top, el("h2", {}, "Endpoints"), list);
    await listEndpoints(list, top);
  }

  async function listEndpoints(list: HTMLElement, top: HTMLElement): Promise<void> {
    const editor = el("div", { id: "endpoint-editor" });
    const reload = () => listEndpoints(list, top);
    const cells = (w: Json): Child[] => {
      const label = w.description ? `${w.url} (${w.description})` : w.url;
      const deliveriesLink = el("a", { href: `#/endpoints/${encodeURIComponent(w.id)}` }, "Deliveries");
      const actions = !can().change ? el("div", {}, deliveriesLink) : el(
        "div",
        {},
        deliveriesLink,
        " ",
        el("button", { type: "button", class: "secondary", "aria-label": `Edit ${label}`, click: () => edit(editor, w, reload) }, "Edit"),
        el(
          "button",
          {
            type: "button",
            class: "secondary",
            "aria-label": `${w.status === "active" ? "Disable" : "Enable"} ${label}`,
            click: () =>
              act(async () => {
                await api("PATCH", `/v1/webhooks/${w.id}`, { status: w.status === "active" ? "disabled" : "active" });
                await reload();
                say(`Endpoint ${w.id} ${w.status === "active" ? "disabled" : "enabled"}.`);
              }),
          },
          w.status === "active" ? "Disable" : "Enable",
        ),
        el(
          "button",
          {
            type: "button",
            class: "secondary",
            "aria-label": `Send test event to ${label}`,
            click: () =>
              act(async () => {
                const r = (await api("POST", `/v1/webhooks/${w.id}/test`)).data;
                say(`Test event ${r.event_id} queued (delivery ${r.delivery_id}).`);
              }),
          },
          "Send test",
        ),
        el(
          "button",
          {
            type: "button",
            class: "secondary",
            "aria-label": `Rotate secret of ${label}`,
            click: () => rotate(editor, top, w),
          },
          "Rotate secret",
        ),
        el(
          "button",
          {
            type: "button",
            class: "danger",
            "aria-label": `Delete ${label}`,
            click: () =>
              act(async () => {
                if (!confirm(`Delete endpoint ${w.url}? Its unfinished deliveries expire; history stays readable.`)) return;
                await api("DELETE", `/v1/webhooks/${w.id}`);
                await reload();
                say(`Endpoint ${w.id} deleted.`);
              }),
          },
          "Delete",
        ),
      );
      return [
        el("div", {}, el("div", {}, w.url), w.description ? el("div", { class: "muted" }, w.description) : null, el("div", { class: "muted" }, w.id)),
        badge(w.status),
        w.events.join(", "),
        w.failure_count,
        when(w.last_failure_at),
        actions,
      ];
    };
    const { node } = await pagedTable(
      { path: "/v1/webhooks?limit=100", headers: ["Endpoint", "Status", "Events", "Failures", "Last failure", "Actions"], cells, empty: "No endpoints yet." },
      api,
      act,
    );
    list.replaceChildren(node, editor);
  }

  /** rotate asks for the new secret: empty for a random one, or one the operator brings (whsec_…). */
  function rotate(editor: HTMLElement, top: HTMLElement, w: Json): void {
    const secret = el("input", { type: "password", autocomplete: "off", placeholder: "empty = a new random secret" });
    const form = el(
      "form",
      {
        "aria-label": `Rotate secret of ${w.id}`,
        submit: (e: Event) => {
          e.preventDefault();
          void act(async () => {
            const given = secret.value.trim();
            const r = (await api("POST", `/v1/webhooks/${w.id}/rotate-secret`, given === "" ? undefined : { secret: given })).data;
            editor.replaceChildren();
            showSecret(top, w.id, r.secret, "rotated");
          });
        },
      },
      field("rotate-secret", "New secret (optional, whsec_ + base64 of 24+ bytes)", secret),
      el("button", { type: "submit" }, "Rotate"),
      el("button", { type: "button", class: "secondary", click: () => editor.replaceChildren() }, "Cancel"),
    );
    editor.replaceChildren(
      el("h2", {}, `Rotate the secret of ${w.url}`),
      el("p", { class: "muted" }, "The old secret keeps signing webhook-signature for 24 hours."),
      form,
    );
    secret.focus();
  }

  function edit(editor: HTMLElement, w: Json, reload: () => Promise<void>): void {
    const description = el("input", { type: "text", value: w.description ?? "" });
    const events = el("input", { type: "text", value: w.events.join(", "), required: true });
    const options = optionsEditor("edit", w);
    const form = el(
      "form",
      {
        "aria-label": `Edit ${w.id}`,
        submit: (e: Event) => {
          e.preventDefault();
          void act(async () => {
            await api("PATCH", `/v1/webhooks/${w.id}`, { description: description.value, events: parseEvents(events.value), ...options.body() });
            await reload();
            say(`Endpoint ${w.id} saved.`);
          });
        },
      },
      field("edit-description", "Description", description),
      field("edit-events", "Events", events),
      options.section,
      el("button", { type: "submit" }, "Save"),
      el("button", { type: "button", class: "secondary", click: () => editor.replaceChildren() }, "Cancel"),
    );
    editor.replaceChildren(el("h2", {}, `Edit ${w.url}`), form);
    description.focus();
  }

  return { endpoints };
}
