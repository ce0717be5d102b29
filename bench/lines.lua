-- wrk script for the single-use-body scenarios (jwt_bearer) of bench/run.sh, for every target
-- alike: ../shared/bench-peer/wrk-bench.lua's "lines" mode with each request formatted once,
-- in init(), instead of by wrk.format() on every request, so the load generator spends less
-- of the shared cores per request. Same arguments and the same RESULT line:
--   wrk -s lines.lua URL -- METHOD FILE lines NTHREADS
-- Line i of FILE goes to thread i % NTHREADS; a thread that runs out starts over and counts
-- it in "wrapped" (the run then reports reused bodies). A line `PROOF<TAB>BODY` sends PROOF
-- as the request's DPoP header (RFC 9449) with BODY (the *_dpop scenarios); a field before
-- the body of the form `Name: value` is sent as that header instead (refresh_seeded: each
-- request with its own client's Authorization).
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local function format(method, line)
  if not line:find("\t", 1, true) then return wrk.format(method, nil, nil, line) end
  local h = {}
  for k, v in pairs(wrk.headers) do h[k] = v end
  local fields = {}
  for f in (line .. "\t"):gmatch("([^\t]*)\t") do fields[#fields + 1] = f end
  for i = 1, #fields - 1 do
    local name, value = fields[i]:match("^([%w-]+): (.*)$")
    if name then h[name] = value else h["DPoP"] = fields[i] end
  end
  return wrk.format(method, nil, h, fields[#fields])
end

function init(args)
  local method = args[1] or "POST"
  local file = args[2]
  local nthreads = tonumber(args[4] or "1")
  wrapped = 0
  reqs = {}
  local i = 0
  for line in io.lines(file) do
    if i % nthreads == id then reqs[#reqs + 1] = format(method, line) end
    i = i + 1
  end
  idx = 0
  n = #reqs
end

function request()
  idx = idx + 1
  if idx > n then idx = 1; wrapped = wrapped + 1 end
  return reqs[idx]
end

function done(summary, latency, requests)
  local w = 0
  for _, t in ipairs(threads) do w = w + (t:get("wrapped") or 0) end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests":%d,"duration_us":%d,"bytes":%d,"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,"mean_ms":%.3f,' ..
    '"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d,"wrapped":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, latency.mean / 1000,
    e.connect, e.read, e.write, e.status, e.timeout, w))
end
