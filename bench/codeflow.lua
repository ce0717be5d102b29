-- wrk script: the authorization code flow with an existing browser session and prior
-- consent. Each flow is two requests: GET /authorize (answered 303 to the redirect URI
-- with a code, no pages) and POST /token (code + PKCE verifier, client_secret_basic).
-- All connections of a wrk thread share one queue of codes: a connection sends a token
-- request when a code is waiting, an authorization request otherwise.
--
-- Configured by environment variables (wrk passes its own args to init only):
--   CF_AUTHORIZE  path and query of the authorization request
--   CF_COOKIE     Cookie header (session + browser-binding cookies)
--   CF_BASIC      Authorization header value for the token request
--   CF_TOKEN_BODY token request body without the code (the code is appended)
--   CF_TOKENS     optional file: refresh tokens from the token responses, one a line
--                 (used to feed the refresh scenario)
-- done() prints a JSON RESULT line like wrk-bench.lua, plus flow counts.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  codes = {}
  head, tail = 1, 0
  flows, authorizes, failures = 0, 0, 0
  last_failure = ""
  local host = wrk.headers["Host"]
  authorize_req = wrk.format("GET", os.getenv("CF_AUTHORIZE"), { ["Host"] = host, ["Cookie"] = os.getenv("CF_COOKIE") }, nil)
  token_headers = {
    ["Host"] = host,
    ["Authorization"] = os.getenv("CF_BASIC"),
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }
  token_body = os.getenv("CF_TOKEN_BODY")
  local f = os.getenv("CF_TOKENS")
  if f and f ~= "" then
    out = io.open(f .. "." .. id, "a")
    out:setvbuf("line")
  end
end

function request()
  if head <= tail then
    local code = codes[head]
    codes[head] = nil
    head = head + 1
    return wrk.format("POST", "/token", token_headers, token_body .. "&code=" .. code)
  end
  return authorize_req
end

function response(status, headers, body)
  if status == 303 or status == 302 then
    local loc = headers["location"] or headers["Location"] or ""
    local code = string.match(loc, "[?&]code=([^&]+)")
    if code then
      authorizes = authorizes + 1
      tail = tail + 1
      codes[tail] = code
      return
    end
    failures = failures + 1
    last_failure = "authorize: " .. string.sub(loc, 1, 160)
  elseif status == 200 then
    flows = flows + 1
    if out then
      local rt = string.match(body, '"refresh_token":"([^"]+)"')
      if rt then out:write(rt, "\n") end
    end
  else
    failures = failures + 1
    last_failure = status .. ": " .. string.sub(body or "", 1, 160)
  end
end

function done(summary, latency, requests)
  local f, a, x, lf = 0, 0, 0, ""
  for _, t in ipairs(threads) do
    f = f + (t:get("flows") or 0)
    a = a + (t:get("authorizes") or 0)
    x = x + (t:get("failures") or 0)
    local l = t:get("last_failure")
    if l and l ~= "" then lf = l end
  end
  local e = summary.errors
  lf = string.gsub(string.gsub(lf, '\\', '\\\\'), '"', '\\"')
  io.write(string.format(
    'RESULT {"requests":%d,"duration_us":%d,"bytes":%d,"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,"mean_ms":%.3f,' ..
    '"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d,"wrapped":0,' ..
    '"flows":%d,"authorizes":%d,"failures":%d,"last_failure":"%s"}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, latency.mean / 1000,
    e.connect, e.read, e.write, e.status, e.timeout, f, a, x, lf))
end
