-- wrk script: OAuth 2.0 client_credentials token requests (client_secret_post).
--
--   BENCH_CLIENT_ID=bench-svc BENCH_CLIENT_SECRET=... \
--     wrk -t2 -c64 -d20s --latency -s scripts/bench/client_credentials.lua \
--     http://127.0.0.1:PORT/realms/bench/protocol/openid-connect/token
--
-- The secret must be URL-safe as is (scripts/bench.sh makes an alphanumeric
-- one).  Every non-200 response is counted; done() prints the count, the
-- first bad status and body, and one machine-readable "BENCH ..." line that
-- scripts/bench.sh parses.

local client_id = os.getenv("BENCH_CLIENT_ID") or "bench-svc"
local client_secret = os.getenv("BENCH_CLIENT_SECRET")
if client_secret == nil or client_secret == "" then
  error("BENCH_CLIENT_SECRET is not set")
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Accept"] = "application/json"
wrk.body = "grant_type=client_credentials&client_id=" .. client_id
  .. "&client_secret=" .. client_secret

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  ok_count = 0
  bad_count = 0
  first_bad_status = 0
  first_bad_body = ""
end

function response(status, headers, body)
  if status == 200 then
    ok_count = ok_count + 1
  else
    bad_count = bad_count + 1
    if first_bad_status == 0 then
      first_bad_status = status
      first_bad_body = string.sub(body or "", 1, 300)
    end
  end
end

function done(summary, latency, requests)
  local ok, bad, status, body = 0, 0, 0, ""
  for _, t in ipairs(threads) do
    ok = ok + t:get("ok_count")
    bad = bad + t:get("bad_count")
    local s = t:get("first_bad_status")
    if status == 0 and s ~= 0 then
      status = s
      body = t:get("first_bad_body")
    end
  end
  local e = summary.errors
  local socket_errors = e.connect + e.read + e.write + e.timeout
  local secs = summary.duration / 1e6
  io.write(string.format("non-200 responses: %d\n", bad))
  if bad > 0 then
    io.write(string.format("first non-200: HTTP %d %s\n", status, body))
  end
  io.write(string.format(
    "BENCH ok=%d non200=%d socket_errors=%d seconds=%.3f tokens_per_s=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
    ok, bad, socket_errors, secs, ok / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
