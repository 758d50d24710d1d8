-- GET one path with an optional bearer token: the trivial route and the wallets.
dofile(os.getenv("BENCH_LUA") .. "/report.lua")

local path = os.getenv("BENCH_PATH")
local headers = {}
if os.getenv("BENCH_BEARER") then
  headers["Authorization"] = "Bearer " .. os.getenv("BENCH_BEARER")
end

function request()
  return wrk.format("GET", path, headers)
end
