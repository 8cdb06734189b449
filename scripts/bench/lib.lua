-- Shared helpers of the wrk scripts in scripts/bench/ (loaded with dofile by
-- each of them, in every wrk thread's Lua state).
--
--   now_us()              monotonic wall clock in microseconds (LuaJIT FFI
--                         clock_gettime; wrk itself gives Lua no clock)
--   hist_add(h, us)       record one latency in histogram table h
--   hist_merge(dst, src)  add src's counts to dst
--   hist_percentile(h, p) the p-th percentile of h in milliseconds
--   hist_count(h)         number of samples in h
--   env_or(name, default), require_env(name)
--   gather(threads, name) sum of a numeric global over all wrk threads
--   first_bad(threads)    (status, body) of the first unexpected answer
--   b64url_decode(s)      base64url without padding -> string (nil if invalid)
--   count_signatures(body, counts)  adds the "alg" of each JWT of a token
--                         response (access, ID, refresh token) to counts:
--                         counts.RS256, counts.HS512, ...
--
-- Histogram buckets: 10 us wide below 10 ms, then 1 % wide (log scale), so
-- percentiles are exact to 10 us or 1 %; a bucket reports its midpoint.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } nexus_bench_timespec;
int clock_gettime(int clk_id, nexus_bench_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local ts = ffi.new("nexus_bench_timespec")

function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) * 1e6 + tonumber(ts.tv_nsec) / 1e3
end

local LINEAR_US = 10000
local LINEAR_STEP = 10
local LINEAR_BUCKETS = LINEAR_US / LINEAR_STEP
local LOG_BASE = math.log(1.01)

local function bucket_of(us)
  if us < LINEAR_US then
    return math.floor(math.max(us, 0) / LINEAR_STEP)
  end
  return LINEAR_BUCKETS + math.floor(math.log(us / LINEAR_US) / LOG_BASE)
end

local function bucket_mid_us(b)
  if b < LINEAR_BUCKETS then
    return b * LINEAR_STEP + LINEAR_STEP / 2
  end
  return LINEAR_US * math.exp((b - LINEAR_BUCKETS + 0.5) * LOG_BASE)
end

function hist_add(h, us)
  local b = bucket_of(us)
  h[b] = (h[b] or 0) + 1
end

function hist_merge(dst, src)
  for b, n in pairs(src) do
    dst[b] = (dst[b] or 0) + n
  end
end

function hist_count(h)
  local total = 0
  for _, n in pairs(h) do
    total = total + n
  end
  return total
end

function hist_percentile(h, p)
  local keys, total = {}, 0
  for b, n in pairs(h) do
    keys[#keys + 1] = b
    total = total + n
  end
  if total == 0 then
    return 0
  end
  table.sort(keys)
  local want, seen = math.max(1, math.ceil(total * p / 100)), 0
  for _, b in ipairs(keys) do
    seen = seen + h[b]
    if seen >= want then
      return bucket_mid_us(b) / 1000
    end
  end
  return bucket_mid_us(keys[#keys]) / 1000
end

local bit = require("bit")

-- base64url alphabet -> value
local B64 = {}
do
  local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
  for i = 1, #alphabet do
    B64[string.byte(alphabet, i)] = i - 1
  end
end

function b64url_decode(s)
  local out, acc, nbits = {}, 0, 0
  for i = 1, #s do
    local v = B64[string.byte(s, i)]
    if v == nil then
      return nil
    end
    acc = bit.band(bit.bor(bit.lshift(acc, 6), v), 0xffff)
    nbits = nbits + 6
    if nbits >= 8 then
      nbits = nbits - 8
      out[#out + 1] = string.char(bit.band(bit.rshift(acc, nbits), 0xff))
    end
  end
  return table.concat(out)
end

-- Counts the signing algorithms of the JWTs in a token response, from their
-- headers: what one response cost in signatures, measured rather than assumed.
function count_signatures(body, counts)
  for _, name in ipairs({ "access_token", "id_token", "refresh_token" }) do
    local header = string.match(body, '"' .. name .. '"%s*:%s*"([^".]+)%.')
    local alg = header and string.match(b64url_decode(header) or "", '"alg"%s*:%s*"([^"]+)"')
    if alg then
      counts[alg] = (counts[alg] or 0) + 1
    end
  end
end

-- "RS256=2.00 HS512=1.00": signatures per response of each algorithm.
function signature_summary(counts, responses)
  local keys = {}
  for alg in pairs(counts) do
    keys[#keys + 1] = alg
  end
  table.sort(keys)
  local parts = {}
  for _, alg in ipairs(keys) do
    parts[#parts + 1] = string.format("%s=%.2f", alg, counts[alg] / math.max(responses, 1))
  end
  return table.concat(parts, " ")
end

function env_or(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then
    return default
  end
  return v
end

function require_env(name)
  local v = os.getenv(name)
  if v == nil or v == "" then
    error(name .. " is not set")
  end
  return v
end

function gather(threads, name)
  local total = 0
  for _, t in ipairs(threads) do
    total = total + (t:get(name) or 0)
  end
  return total
end

function gather_hist(threads, name)
  local h = {}
  for _, t in ipairs(threads) do
    hist_merge(h, t:get(name) or {})
  end
  return h
end

function first_bad(threads)
  for _, t in ipairs(threads) do
    local s = t:get("first_bad_status") or 0
    if s ~= 0 then
      return s, t:get("first_bad_body") or ""
    end
  end
  return 0, ""
end

-- Per-thread counters of unexpected answers (call from response()).
function note_bad(status, body)
  bad_count = (bad_count or 0) + 1
  if (first_bad_status or 0) == 0 then
    first_bad_status = status
    first_bad_body = string.sub(body or "", 1, 300)
  end
end

function header(headers, name)
  return headers[name] or headers[string.lower(name)]
end

-- The socket errors wrk counted, summed.
function socket_errors(summary)
  local e = summary.errors
  return e.connect + e.read + e.write + e.timeout
end

-- Each of wrk's latency percentiles, in ms.
function wrk_ms(latency, p)
  return latency:percentile(p) / 1000
end
