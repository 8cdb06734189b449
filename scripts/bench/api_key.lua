-- wrk script: API keys (issue 4), three modes chosen by BENCH_MODE:
--   psk       GET URL with "Authorization-PSK: BENCH_SECRET" (e.g. userinfo): key verification
--   exchange  POST URL {"apiKey": BENCH_KEY_ID, "apiSecret": BENCH_SECRET}: key for token (one RS256)
--   plain     GET URL without credentials (e.g. /realms/bench): the baseline of a cheap answer
--
--   BENCH_MODE=psk BENCH_SECRET=nx_live_... wrk -t2 -c64 -d20s --latency -s scripts/bench/api_key.lua \
--     http://127.0.0.1:PORT/realms/bench/protocol/openid-connect/userinfo
--
-- Every non-200 is counted; done() prints one "BENCH ..." line for scripts/bench.sh.

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "lib.lua")

local mode = env_or("BENCH_MODE", "psk")

if mode == "psk" then
  wrk.method = "GET"
  wrk.headers["Authorization-PSK"] = require_env("BENCH_SECRET")
elseif mode == "exchange" then
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Accept"] = "application/json"
  wrk.body = string.format('{"apiKey":"%s","apiSecret":"%s"}',
    require_env("BENCH_KEY_ID"), require_env("BENCH_SECRET"))
elseif mode == "plain" then
  wrk.method = "GET"
else
  error("BENCH_MODE must be psk, exchange or plain")
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  ok_count = 0
end

function response(status, headers, body)
  if status == 200 then
    ok_count = ok_count + 1
  else
    note_bad(status, body)
  end
end

function done(summary, latency, requests)
  local ok, bad = gather(threads, "ok_count"), gather(threads, "bad_count")
  local status, body = first_bad(threads)
  local e = summary.errors
  local socket_errors = e.connect + e.read + e.write + e.timeout
  local secs = summary.duration / 1e6
  io.write(string.format("non-200 responses: %d\n", bad))
  if bad > 0 then
    io.write(string.format("first non-200: HTTP %d %s\n", status, body))
  end
  io.write(string.format(
    "BENCH ok=%d non200=%d socket_errors=%d seconds=%.3f per_s=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
    ok, bad, socket_errors, secs, ok / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
