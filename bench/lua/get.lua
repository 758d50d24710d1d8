-- GET one path with an optional bearer token or operator key: the trivial route, the wallets,
-- the operators' reads.
dofile(os.getenv("BENCH_LUA") .. "/report.lua")

local path = os.getenv("BENCH_PATH")
local headers = {}
if os.getenv("BENCH_BEARER") then
  headers["Authorization"] = "Bearer " .. os.getenv("BENCH_BEARER")
end
if os.getenv("BENCH_API_KEY") then
  headers["X-API-Key"] = os.getenv("BENCH_API_KEY")
end

function request()
  return wrk.format("GET", path, headers)
end
