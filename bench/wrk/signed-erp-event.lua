-- signed-erp-event: wrk sends pre-signed erp-event POSTs, cycling through a file that bench/ingest.ts
-- writes. wrk's Lua has no HMAC, so the bench signs each body in TypeScript and wrk only replays them.
-- Each line of the file is "<X-Hookd-Signature value><TAB><body>"; bodies are one-line JSON.
-- Usage: wrk -s bench/wrk/signed-erp-event.lua <url> -- <requests file> <connector id>
-- No webhook-id or Idempotency-Key is sent: hookd dedupes only on those, so a body met again when the
-- file wraps around is a new event, as it would be from a real sender.

local requests = {}
local count = 0
local next_index = 0

function init(args)
  local path, connector = args[1], args[2]
  for line in io.lines(path) do
    local tab = line:find("\t", 1, true)
    count = count + 1
    -- Formatted once here, so request() costs wrk nothing but a table lookup.
    requests[count] = wrk.format("POST", nil, {
      ["Content-Type"] = "application/json",
      ["X-Hookd-Connector-Id"] = connector,
      ["X-Hookd-Signature"] = line:sub(1, tab - 1),
    }, line:sub(tab + 1))
  end
  if count == 0 then error("no requests in " .. path) end
end

function request()
  next_index = next_index % count + 1
  return requests[next_index]
end
