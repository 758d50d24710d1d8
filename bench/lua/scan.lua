-- POST /scan: each thread walks its own share of BENCH_COUPONS (one line each) and cycles
-- through the bearer tokens in BENCH_USERS. The file is cut into BENCH_PARTS shares so that
-- repeated runs (BENCH_RUN) never meet a coupon twice. With few coupons (BENCH_PARTS=1 per
-- thread) the walk wraps: contention. With BENCH_IDEMPOTENT=1 each scan carries an
-- Idempotency-Key made from its coupon, and a replayed answer counts as "200 replayed".
-- BENCH_SCAN_PATH sends the same requests elsewhere (bench/floor_app.py's routes).
dofile(os.getenv("BENCH_LUA") .. "/report.lua")

local coupons, users = {}, {}
local keyed = os.getenv("BENCH_IDEMPOTENT") == "1"
local next_coupon, next_user = 0, 0
local path = os.getenv("BENCH_SCAN_PATH") or "/scan"

function init(args)
  local threads = tonumber(os.getenv("BENCH_THREADS"))
  -- With several wrk processes (one per gunicorn instance) each numbers its threads from 0.
  local offset = tonumber(os.getenv("BENCH_OFFSET") or "0")
  local runs = tonumber(os.getenv("BENCH_RUNS") or "1")
  local run = tonumber(os.getenv("BENCH_RUN") or "0")
  for i, coupon in ipairs(lines(os.getenv("BENCH_COUPONS"))) do
    if (i - 1) % (threads * runs) == run * threads + offset + id then table.insert(coupons, coupon) end
  end
  users = lines(os.getenv("BENCH_USERS"))
end

function request()
  next_coupon = next_coupon % #coupons + 1
  next_user = next_user % #users + 1
  local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. users[next_user]}
  if keyed then
    -- One key per coupon: a second pass over the same coupons is all retries.
    headers["Idempotency-Key"] = "scan-" .. coupons[next_coupon]
  end
  return wrk.format("POST", path, headers, '{"token": "' .. coupons[next_coupon] .. '"}')
end
