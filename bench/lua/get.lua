-- GET one path with an optional bearer token, operator key or cookie: the trivial route, the
-- wallets, the operators' reads, the console's pages.
dofile(os.getenv("BENCH_LUA") .. "/report.lua")

local path = os.getenv("BENCH_PATH")
local headers = {}
if os.getenv("BENCH_BEARER") then
  headers["Authorization"] = "Bearer " .. os.getenv("BENCH_BEARER")
end
if os.getenv("BENCH_API_KEY") then
  headers["X-API-Key"] = os.getenv("BENCH_API_KEY")
end

if os.getenv("BENCH_COOKIE") then
  headers["Cookie"] = os.getenv("BENCH_COOKIE")
end

function request()
  return wrk.format("GET", path, headers)
end
