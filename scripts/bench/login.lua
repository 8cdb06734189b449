-- wrk script: the login form POST (username + password: one argon2id
-- verification each), through the authorization endpoint's login page.
--
--   BENCH_REALM=bench BENCH_CLIENT_ID=bench-web \
--   BENCH_REDIRECT_URI=http://127.0.0.1:9/cb BENCH_USERNAME=bench-user \
--   BENCH_PASSWORD=<URL-safe> BENCH_CHALLENGE=<S256 challenge> \
--     wrk -t2 -c64 -d20s --latency -s scripts/bench/login.lua http://127.0.0.1:PORT
--
-- Each wrk thread plays one browser: a fixed AUTH_SESSION_ID cookie (43
-- random URL-safe characters chosen here; the server accepts a browser id the
-- client brings) and no session cookie, so every authorization request shows
-- the login page.  Per thread, a queue of login forms:
--
--   * request() with an empty queue: GET /realms/R/protocol/openid-connect/auth
--     ?response_type=code&scope=openid&code_challenge=...&state=ID&login_hint=ID
--   * response() of that login page parses tab_id (form action) and
--     csrf_token with Lua patterns and pushes the form;
--   * request() with a form queued: POST /realms/R/login-actions/authenticate
--     ?tab_id=... with username, password, csrf_token;
--   * response() of that POST: a 302 to the redirect URI with a code (and the
--     KEYCLOAK_IDENTITY cookie, which is not kept) is one successful login.
--
-- wrk's latency figures MIX BOTH KINDS; the script times each kind itself
-- (LuaJIT FFI clock_gettime, request() to response(); login_hint, echoed in
-- the page's username field, pairs a GET with its page, and state, echoed in
-- the 302, pairs a POST with its answer); these times are raw, wrk's own
-- percentiles include its latency correction (stats_correct).  Every other answer — including the
-- login page again with an error, a wrong password — is counted as non-200.
-- done() prints one "BENCH ..." line.

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "lib.lua")

local realm = env_or("BENCH_REALM", "bench")
local client_id = env_or("BENCH_CLIENT_ID", "bench-web")
local redirect_uri = env_or("BENCH_REDIRECT_URI", "http://127.0.0.1:9/cb")
local username = env_or("BENCH_USERNAME", "bench-user")
local password = require_env("BENCH_PASSWORD")
local challenge = require_env("BENCH_CHALLENGE")

local function urlencode(s)
  return (string.gsub(s, "[^%w%-%._~]", function(c)
    return string.format("%%%02X", string.byte(c))
  end))
end

local auth_prefix = "/realms/" .. realm .. "/protocol/openid-connect/auth?response_type=code&client_id="
  .. urlencode(client_id) .. "&redirect_uri=" .. urlencode(redirect_uri)
  .. "&scope=openid&code_challenge=" .. challenge .. "&code_challenge_method=S256"
local action_prefix = "/realms/" .. realm .. "/login-actions/authenticate?tab_id="
local credentials = "username=" .. urlencode(username) .. "&password=" .. urlencode(password) .. "&csrf_token="

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_index", #threads)
end

local forms, head, tail = {}, 1, 0
local get_started, post_started = {}, {}
local counter = 0
local get_headers, post_headers

function init(args)
  logins, pages, bad_count, unpaired = 0, 0, 0, 0
  first_bad_status, first_bad_body = 0, ""
  page_hist, login_hist = {}, {}
  math.randomseed(math.floor(now_us()) % 2147483647 + thread_index * 7919)
  local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
  local chars = {}
  for i = 1, 43 do
    local k = math.random(1, #alphabet)
    chars[i] = string.sub(alphabet, k, k)
  end
  local browser = "AUTH_SESSION_ID=" .. table.concat(chars)
  get_headers = { ["Cookie"] = browser }
  post_headers = {
    ["Cookie"] = browser,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }
end

function request()
  if head <= tail then
    local form = forms[head]
    forms[head] = nil
    head = head + 1
    post_started[form.id] = now_us()
    return wrk.format("POST", action_prefix .. form.tab_id, post_headers, credentials .. form.csrf)
  end
  counter = counter + 1
  local id = "t" .. thread_index .. "n" .. counter
  get_started[id] = now_us()
  return wrk.format("GET", auth_prefix .. "&state=" .. id .. "&login_hint=" .. id, get_headers)
end

function response(status, hdrs, body)
  local t = now_us()
  if status == 302 then
    local location = header(hdrs, "Location") or ""
    local id = string.match(location, "[?&]state=([^&#]+)")
    if string.match(location, "[?&]code=") and string.sub(location, 1, #redirect_uri + 1) == redirect_uri .. "?" then
      logins = logins + 1
      local started = id and post_started[id]
      if started then
        hist_add(login_hist, t - started)
        post_started[id] = nil
      else
        unpaired = unpaired + 1
      end
      return
    end
    note_bad(status, "Location: " .. location)
    return
  end
  if status == 200 and body and not string.find(body, 'id="input-error"', 1, true) then
    local tab_id = string.match(body, 'id="kc%-form%-login"[^>]-action="[^"]-[?&]tab_id=([%w_%-]+)"')
    local csrf = string.match(body, 'name="csrf_token" value="([^"]+)"')
    local id = string.match(body, 'name="username" type="text" value="([^"]*)"')
    if tab_id and csrf and id then
      pages = pages + 1
      local started = get_started[id]
      if started then
        hist_add(page_hist, t - started)
        get_started[id] = nil
      else
        unpaired = unpaired + 1
      end
      tail = tail + 1
      forms[tail] = { tab_id = tab_id, csrf = csrf, id = id }
      return
    end
  end
  note_bad(status, body)
end

function done(summary, latency, requests)
  local ok, bad = gather(threads, "logins"), gather(threads, "bad_count")
  local status, body = first_bad(threads)
  local secs = summary.duration / 1e6
  local ph, lh = gather_hist(threads, "page_hist"), gather_hist(threads, "login_hist")
  io.write(string.format("login pages: %d; successful logins (302 with a code): %d\n",
    gather(threads, "pages"), ok))
  io.write(string.format("unexpected answers: %d; answers not paired with their request: %d\n",
    bad, gather(threads, "unpaired")))
  if bad > 0 then
    io.write(string.format("first unexpected answer: HTTP %d %s\n", status, body))
  end
  io.write(string.format("login POST only (timed in Lua, %d samples): p50 %.3f ms, p99 %.3f ms\n",
    hist_count(lh), hist_percentile(lh, 50), hist_percentile(lh, 99)))
  io.write(string.format("login page GET only (timed in Lua, %d samples): p50 %.3f ms, p99 %.3f ms\n",
    hist_count(ph), hist_percentile(ph, 50), hist_percentile(ph, 99)))
  io.write(string.format(
    "BENCH ok=%d non200=%d socket_errors=%d seconds=%.3f logins_per_s=%.1f requests_per_s=%.1f"
      .. " p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f"
      .. " login_p50_ms=%.3f login_p99_ms=%.3f page_p50_ms=%.3f page_p99_ms=%.3f\n",
    ok, bad, socket_errors(summary), secs, ok / secs, summary.requests / secs,
    wrk_ms(latency, 50), wrk_ms(latency, 90), wrk_ms(latency, 99), latency.max / 1000,
    hist_percentile(lh, 50), hist_percentile(lh, 99), hist_percentile(ph, 50), hist_percentile(ph, 99)))
end
