import { initial } from "./001-initial";
import { deliveries } from "./002-deliveries";
import { inbound } from "./003-inbound";
import { deliveryStatusIndex } from "./004-delivery-status-index";
import { dropDeliveriesCreated } from "./005-drop-deliveries-created";
import { inboundEventIndex } from "./006-inbound-event-index";
import { attemptsTimeIndex } from "./007-attempts-time-index";
import { deliveryQueues } from "./008-delivery-queues";
import { endpointOptions } from "./009-endpoint-options";
import { routing } from "./010-routing";
import { alerts } from "./011-alerts";
import { deliverySearch } from "./012-delivery-search";
import { audit } from "./013-audit";
import { searchPartial } from "./014-search-partial";

/** Migration is one schema step; versions are applied in order and recorded in schema_migrations. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** MIGRATIONS lists every schema step; append only, never edit a released one. */
export const MIGRATIONS: readonly Migration[] = [
  initial, deliveries, inbound, deliveryStatusIndex, dropDeliveriesCreated, inboundEventIndex,
  attemptsTimeIndex, deliveryQueues, endpointOptions, routing, alerts, deliverySearch, audit,
  searchPartial,
];
