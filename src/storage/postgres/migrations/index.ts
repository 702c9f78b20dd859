import { initial } from "./001-initial";
import { endpointOptions } from "./002-endpoint-options";
import { routing } from "./003-routing";
import { alerts } from "./004-alerts";
import { deliverySearch } from "./005-delivery-search";
import { audit } from "./006-audit";
import { searchPartial } from "./007-search-partial";

/** Migration is one schema step of the PostgreSQL backend (its own numbering, not SQLite's). */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** MIGRATIONS lists every PostgreSQL schema step; append only, never edit a released one. */
export const MIGRATIONS: readonly Migration[] = [initial, endpointOptions, routing, alerts, deliverySearch, audit, searchPartial];
