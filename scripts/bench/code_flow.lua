-- wrk script: the authorization code flow's code-for-token exchange, with
-- single sign-on producing the codes (public client, PKCE S256).
--
--   BENCH_REALM=bench BENCH_CLIENT_ID=bench-web \
--   BENCH_REDIRECT_URI=http://127.0.0.1:9/cb BENCH_IDENTITY=<KEYCLOAK_IDENTITY> \
--   BENCH_VERIFIER=<43+ chars> BENCH_CHALLENGE=<S256 of it> \
--     wrk -t2 -c64 -d20s --latency -s scripts/bench/code_flow.lua http://127.0.0.1:PORT
--
-- BENCH_IDENTITY is the value of the KEYCLOAK_IDENTITY cookie of a logged-in
-- session (`scripts/bench/admin.py login` logs in through the pages once).
-- Each wrk thread keeps a queue of codes:
--
--   * request() with an empty queue: GET /realms/R/protocol/openid-connect/auth
--     ?response_type=code&scope=openid&prompt=none&code_challenge=...&state=ID
--     &nonce=ID with the session cookie: single sign-on, no login page, the
--     answer is a 302 to the redirect URI (never called) with code and state;
--   * response() of that 302 pushes the code;
--   * request() with a code queued: POST /realms/R/protocol/openid-connect/token
--     grant_type=authorization_code with the code, redirect_uri, code_verifier;
--   * response() of that 200 counts one exchange.
--
-- So the requests alternate between the two kinds, about one each per
-- exchange, and wrk's own latency figures MIX BOTH KINDS.  The script
-- therefore also times each kind itself (LuaJIT FFI clock_gettime, from
-- request() to response()): the state parameter pairs a GET with its 302, and
-- the nonce (echoed in the ID token, whose payload is decoded) pairs a POST
-- with its token response.  These times are raw; wrk adds synthetic samples
-- to its own distribution (stats_correct, its coordinated-omission
-- correction) before done(), so its high percentiles can exceed both kinds'.
--
-- Every unexpected answer (anything but a 302 with a code, or a 200 with an
-- access, an ID and a refresh token) is counted as non-200.  The signing
-- algorithm of each token of each 200 is read from its header, so done()
-- reports the RS256 signatures one exchange cost (rs256_per_response), which
-- scripts/bench.sh puts in its RSA ratio.  done() prints one "BENCH ..." line.

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "lib.lua")

local realm = env_or("BENCH_REALM", "bench")
local client_id = env_or("BENCH_CLIENT_ID", "bench-web")
local redirect_uri = env_or("BENCH_REDIRECT_URI", "http://127.0.0.1:9/cb")
local identity = require_env("BENCH_IDENTITY")
local verifier = require_env("BENCH_VERIFIER")
local challenge = require_env("BENCH_CHALLENGE")

local function urlencode(s)
  return (string.gsub(s, "[^%w%-%._~]", function(c)
    return string.format("%%%02X", string.byte(c))
  end))
end

local auth_prefix = "/realms/" .. realm .. "/protocol/openid-connect/auth?response_type=code&client_id="
  .. urlencode(client_id) .. "&redirect_uri=" .. urlencode(redirect_uri)
  .. "&scope=openid&prompt=none&code_challenge=" .. challenge .. "&code_challenge_method=S256"
local token_path = "/realms/" .. realm .. "/protocol/openid-connect/token"
local token_body_prefix = "grant_type=authorization_code&client_id=" .. urlencode(client_id)
  .. "&redirect_uri=" .. urlencode(redirect_uri) .. "&code_verifier=" .. verifier .. "&code="
local get_headers = { ["Cookie"] = "KEYCLOAK_IDENTITY=" .. identity }
local post_headers = {
  ["Content-Type"] = "application/x-www-form-urlencoded",
  ["Accept"] = "application/json",
}

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_index", #threads)
end

local codes, head, tail = {}, 1, 0
local get_started, post_started = {}, {}
local counter = 0

function init(args)
  codes_issued, exchanges, bad_count, unpaired = 0, 0, 0, 0
  first_bad_status, first_bad_body = 0, ""
  auth_hist, exchange_hist = {}, {}
  signatures = {}
end

function request()
  if head <= tail then
    local item = codes[head]
    codes[head] = nil
    head = head + 1
    post_started[item.id] = now_us()
    return wrk.format("POST", token_path, post_headers, token_body_prefix .. item.code)
  end
  counter = counter + 1
  local id = "t" .. thread_index .. "n" .. counter
  get_started[id] = now_us()
  return wrk.format("GET", auth_prefix .. "&state=" .. id .. "&nonce=" .. id, get_headers)
end

function response(status, hdrs, body)
  local t = now_us()
  if status == 302 then
    local location = header(hdrs, "Location") or ""
    local code = string.match(location, "[?&]code=([^&#]+)")
    local id = string.match(location, "[?&]state=([^&#]+)")
    if code and id and string.sub(location, 1, #redirect_uri + 1) == redirect_uri .. "?" then
      codes_issued = codes_issued + 1
      local started = get_started[id]
      if started then
        hist_add(auth_hist, t - started)
        get_started[id] = nil
      else
        unpaired = unpaired + 1
      end
      tail = tail + 1
      codes[tail] = { code = code, id = id }
      return
    end
    note_bad(status, "Location: " .. location)
    return
  end
  if status == 200 and body then
    local payload = string.match(body, '"id_token"%s*:%s*"[^".]+%.([^".]+)%.')
    if payload and string.find(body, '"access_token"%s*:%s*"') and string.find(body, '"refresh_token"%s*:%s*"') then
      exchanges = exchanges + 1
      count_signatures(body, signatures)
      local claims = b64url_decode(payload) or ""
      local id = string.match(claims, '"nonce"%s*:%s*"([^"]+)"')
      local started = id and post_started[id]
      if started then
        hist_add(exchange_hist, t - started)
        post_started[id] = nil
      else
        unpaired = unpaired + 1
      end
      return
    end
  end
  note_bad(status, body)
end

function done(summary, latency, requests)
  local ok, bad = gather(threads, "exchanges"), gather(threads, "bad_count")
  local issued = gather(threads, "codes_issued")
  local status, body = first_bad(threads)
  local secs = summary.duration / 1e6
  local ah, eh = gather_hist(threads, "auth_hist"), gather_hist(threads, "exchange_hist")
  local sigs = gather_hist(threads, "signatures")
  local rs256 = (sigs.RS256 or 0) / math.max(ok, 1)
  io.write(string.format("codes issued (302 from the authorization endpoint): %d; exchanged (200 from the token endpoint): %d\n",
    issued, ok))
  io.write(string.format("unexpected answers: %d; answers not paired with their request: %d\n",
    bad, gather(threads, "unpaired")))
  if bad > 0 then
    io.write(string.format("first unexpected answer: HTTP %d %s\n", status, body))
  end
  io.write(string.format("JWT signatures per token response, from the tokens' headers: %s\n",
    signature_summary(sigs, ok)))
  io.write(string.format("exchange only (timed in Lua, %d samples): p50 %.3f ms, p99 %.3f ms\n",
    hist_count(eh), hist_percentile(eh, 50), hist_percentile(eh, 99)))
  io.write(string.format("authorization GET only (timed in Lua, %d samples): p50 %.3f ms, p99 %.3f ms\n",
    hist_count(ah), hist_percentile(ah, 50), hist_percentile(ah, 99)))
  io.write(string.format(
    "BENCH ok=%d non200=%d socket_errors=%d seconds=%.3f tokens_per_s=%.1f codes_per_s=%.1f requests_per_s=%.1f rs256_per_response=%.2f"
      .. " p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f"
      .. " exchange_p50_ms=%.3f exchange_p99_ms=%.3f auth_p50_ms=%.3f auth_p99_ms=%.3f\n",
    ok, bad, socket_errors(summary), secs, ok / secs, issued / secs, summary.requests / secs, rs256,
    wrk_ms(latency, 50), wrk_ms(latency, 90), wrk_ms(latency, 99), latency.max / 1000,
    hist_percentile(eh, 50), hist_percentile(eh, 99), hist_percentile(ah, 50), hist_percentile(ah, 99)))
end
