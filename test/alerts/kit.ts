import { expect } from "bun:test";
import { FakeClock } from "../support/fake-clock";
import { waitFor } from "../support/process";
import { type Handler, type Receiver, startReceiver } from "../support/receiver";
import { startTestServer, type TestServer } from "../support/test-server";

/** OpsEvent is an operational event as a subscriber received it. */
export interface OpsEvent {
  id: string;
  type: string;
  created_at: string;
  data: Record<string, any>;
}

/**
 * AlertRig is a real hookd (fake clock) and one receiver answering per path: "/ops" is subscribed to
 * "hookd.*", "/all" to "*"; each test adds endpoints on their own paths with their own behaviour.
 */
export interface AlertRig {
  server: TestServer;
  clock: FakeClock;
  receiver: Receiver;
  behaviours: Map<string, Handler>;
  opsId: string;
  allId: string;
  stop(): Promise<void>;
}

export async function startAlertRig(sections: Record<string, string>): Promise<AlertRig> {
  const clock = new FakeClock();
  const server = await startTestServer(sections, { clock, random: () => 0 });
  const behaviours = new Map<string, Handler>();
  const receiver = startReceiver((request, n, body) => {
    const handler = behaviours.get(new URL(request.url).pathname);
    return handler ? handler(request, n, body) : new Response("ok");
  });
  const make = async (path: string, events: string[]) => {
    const answer = await server.api("POST", "/v1/webhooks", { url: `${receiver.url}${path}`, events });
    expect(answer.status).toBe(201);
    return answer.body.data.id as string;
  };
  const opsId = await make("/ops", ["hookd.*"]);
  const allId = await make("/all", ["*"]);
  return {
    server, clock, receiver, behaviours, opsId, allId,
    async stop() {
      await server.stop();
      await receiver.stop();
    },
  };
}

/** typeFor gives each path its own event type, so tests never see each other's traffic. */
export const typeFor = (path: string) => `test${path.replace(/[^a-z]/g, "")}.happened`;

/** endpoint subscribes `path` to its own type (or `events`), with extra fields (options). */
export async function endpoint(rig: AlertRig, path: string, extra: Record<string, unknown> = {}): Promise<string> {
  const answer = await rig.server.api("POST", "/v1/webhooks", { url: `${rig.receiver.url}${path}`, events: [typeFor(path)], ...extra });
  expect(answer.status).toBe(201);
  return answer.body.data.id;
}

export async function publish(rig: AlertRig, path: string): Promise<string> {
  const answer = await rig.server.api("POST", "/v1/events", { type: typeFor(path), data: { path } });
  expect(answer.status).toBe(202);
  return answer.body.data.id;
}

/** deliveries lists an endpoint's deliveries (newest first, up to 100). */
export async function deliveries(rig: AlertRig, webhookId: string): Promise<any[]> {
  return (await rig.server.api("GET", `/v1/webhooks/${webhookId}/deliveries?limit=100`)).body.data;
}

/** settled waits until `n` deliveries of the endpoint exist, none in flight, each matching `want`. */
export async function settled(rig: AlertRig, webhookId: string, n: number, want: (d: any) => boolean, what: string): Promise<any[]> {
  let last: any[] = [];
  await waitFor(async () => {
    last = await deliveries(rig, webhookId);
    return last.length === n && last.every((d) => !d.in_flight && want(d));
  }, 10_000, what);
  return last;
}

/** advance moves the fake clock once the scheduler is idle (its timer armed), so no wake-up is skipped. */
export async function advance(rig: AlertRig, ms: number): Promise<void> {
  await waitFor(() => rig.server.app.scheduler.idle, 5000, "scheduler idle");
  rig.clock.advance(ms);
}

/**
 * advanceUntil moves the clock 5 s at a time until `check` holds. A periodic check fired by the fake
 * clock reads the time it was due, so the one that sees a later time is the next one.
 */
export async function advanceUntil(rig: AlertRig, check: () => boolean, what: string): Promise<void> {
  await waitFor(async () => {
    if (check()) return true;
    await advance(rig, 5_000);
    await Bun.sleep(20);
    return check();
  }, 10_000, what);
}

/** received lists what the "hookd.*" subscriber got of `type` about `webhookId` (any, when undefined). */
export function received(rig: AlertRig, type: string, webhookId?: string): OpsEvent[] {
  return rig.receiver.requests
    .filter((r) => r.path === "/ops")
    .map((r) => JSON.parse(r.body) as OpsEvent)
    .filter((e) => e.type === type && (webhookId === undefined || e.data.webhook_id === webhookId));
}

/** exactly waits for `n` such events, then a little longer to see no more come. */
export async function exactly(rig: AlertRig, n: number, type: string, webhookId?: string): Promise<OpsEvent[]> {
  await waitFor(() => received(rig, type, webhookId).length >= n, 10_000, `${n} × ${type}`);
  await Bun.sleep(150);
  const found = received(rig, type, webhookId);
  expect(found.length).toBe(n);
  return found;
}

/** hookdAtStar lists hookd.* deliveries the "*" subscriber got (must stay empty). */
export function hookdAtStar(rig: AlertRig): string[] {
  return rig.receiver.requests.filter((r) => r.path === "/all").map((r) => r.headers["x-hookd-event"] ?? "").filter((t) => t.startsWith("hookd."));
}
