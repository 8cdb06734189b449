-- wrk script: OAuth 2.0 refresh_token grant with rotation (public client).
--
--   BENCH_TOKEN_FILE=tokens.txt BENCH_THREADS=2 BENCH_CONNECTIONS=64 \
--   BENCH_CLIENT_ID=bench-web \
--     wrk -t2 -c64 -d20s --latency -s scripts/bench/refresh.lua \
--     http://127.0.0.1:PORT/realms/bench/protocol/openid-connect/token
--
-- Each refresh token works once: the answer carries its successor.  Thread k
-- (1-based) of BENCH_THREADS takes lines k, k + BENCH_THREADS, ... of
-- BENCH_TOKEN_FILE (one refresh token a line, each of its own family, made by
-- `scripts/bench/admin.py refresh-tokens`) as its queue; request() pops one,
-- response() pushes the refresh_token of a 200 answer (which must also carry
-- an access token and an ID token: the scope includes openid).  Every token of the
-- file is used by this run: write a fresh file for each wrk run.  A thread
-- needs at least its connections' worth of tokens (it checks for twice as
-- many); if its queue ever runs dry it sends an unusable token, which counts
-- as a non-200 and as "starved".
--
-- The signing algorithm of each token of each 200 is read from its header:
-- done() reports the RS256 signatures one refresh cost (rs256_per_response,
-- used by scripts/bench.sh's RSA ratio), the non-200 count, the first bad
-- answer, and one machine-readable "BENCH ..." line that scripts/bench.sh parses.  All
-- requests are refreshes, so wrk's latency distribution is the refresh's.

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "lib.lua")

local client_id = env_or("BENCH_CLIENT_ID", "bench-web")
local token_file = require_env("BENCH_TOKEN_FILE")
local nthreads = tonumber(env_or("BENCH_THREADS", "2"))
local nconnections = tonumber(env_or("BENCH_CONNECTIONS", "64"))

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  if #threads > nthreads then
    error("wrk runs more threads than BENCH_THREADS=" .. nthreads .. ": tokens would be shared")
  end
  thread:set("thread_index", #threads)
end

local queue, head, tail = {}, 1, 0

local function push(token)
  tail = tail + 1
  queue[tail] = token
end

local function pop()
  if head > tail then
    return nil
  end
  local token = queue[head]
  queue[head] = nil
  head = head + 1
  return token
end

local prefix = "grant_type=refresh_token&client_id=" .. client_id .. "&refresh_token="
local headers = {
  ["Content-Type"] = "application/x-www-form-urlencoded",
  ["Accept"] = "application/json",
}

function init(args)
  ok_count, bad_count, starved = 0, 0, 0
  first_bad_status, first_bad_body = 0, ""
  signatures = {}
  local i = 0
  for line in io.lines(token_file) do
    if line ~= "" then
      i = i + 1
      if (i - 1) % nthreads + 1 == thread_index then
        push(line)
      end
    end
  end
  local need = 2 * math.ceil(nconnections / nthreads)
  if tail < need then
    error(string.format("thread %d has %d refresh tokens from %s, needs %d (2 x connections per thread)",
      thread_index, tail, token_file, need))
  end
  seeded = tail
end

function request()
  local token = pop()
  if token == nil then
    starved = starved + 1
    token = "starved"
  end
  return wrk.format("POST", nil, headers, prefix .. token)
end

local function has_token(body, name)
  return string.find(body, '"' .. name .. '"%s*:%s*"') ~= nil
end

function response(status, hdrs, body)
  if status == 200 and body then
    local next_token = string.match(body, '"refresh_token"%s*:%s*"([^"]+)"')
    if next_token and has_token(body, "access_token") and has_token(body, "id_token") then
      ok_count = ok_count + 1
      count_signatures(body, signatures)
      push(next_token)
      return
    end
  end
  note_bad(status, body)
end

function done(summary, latency, requests)
  local ok, bad = gather(threads, "ok_count"), gather(threads, "bad_count")
  local status, body = first_bad(threads)
  local secs = summary.duration / 1e6
  local sigs = gather_hist(threads, "signatures")
  io.write(string.format("JWT signatures per token response, from the tokens' headers: %s\n",
    signature_summary(sigs, ok)))
  io.write(string.format("seeded refresh tokens: %d; queue ran dry: %d times\n",
    gather(threads, "seeded"), gather(threads, "starved")))
  io.write(string.format("non-200 responses: %d\n", bad))
  if bad > 0 then
    io.write(string.format("first non-200: HTTP %d %s\n", status, body))
  end
  io.write(string.format(
    "BENCH ok=%d non200=%d socket_errors=%d starved=%d seconds=%.3f tokens_per_s=%.1f rs256_per_response=%.2f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
    ok, bad, socket_errors(summary), gather(threads, "starved"), secs, ok / secs, (sigs.RS256 or 0) / math.max(ok, 1),
    wrk_ms(latency, 50), wrk_ms(latency, 90), wrk_ms(latency, 99), latency.max / 1000))
end
