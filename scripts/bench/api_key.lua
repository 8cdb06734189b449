-- wrk script: API keys (issue 4), three modes chosen by BENCH_MODE:
--   psk       GET URL with "Authorization-PSK: BENCH_SECRET" (e.g. userinfo): key verification
--   exchange  POST URL {"apiKey": BENCH_KEY_ID, "apiSecret": BENCH_SECRET}: key for token (one RS256)
--   plain     GET URL without credentials (e.g. /realms/bench): the baseline of a cheap answer
--
--   BENCH_MODE=psk BENCH_SECRET=nx_live_... wrk -t2 -c64 -d20s --latency -s scripts/bench/api_key.lua \
--     http://127.0.0.1:PORT/realms/bench/protocol/openid-connect/userinfo
--
-- Every non-200 is counted; done() prints one "BENCH ..." line for scripts/bench.sh.

local mode = os.getenv("BENCH_MODE") or "psk"
local secret = os.getenv("BENCH_SECRET") or ""
local key_id = os.getenv("BENCH_KEY_ID") or ""

if mode == "psk" then
  if secret == "" then error("BENCH_SECRET is not set") end
  wrk.method = "GET"
  wrk.headers["Authorization-PSK"] = secret
elseif mode == "exchange" then
  if secret == "" or key_id == "" then error("BENCH_SECRET and BENCH_KEY_ID are needed") end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Accept"] = "application/json"
  wrk.body = string.format('{"apiKey":"%s","apiSecret":"%s"}', key_id, secret)
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
    "BENCH ok=%d non200=%d socket_errors=%d seconds=%.3f per_s=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
    ok, bad, socket_errors, secs, ok / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
