-- POST /auth/otp then POST /auth/verify with the code from the reply (OTP_DELIVERY=response),
-- a new phone for every pair. Run with one connection per thread (-t N -c N) so a thread's
-- replies come back in the order of its requests.
dofile(os.getenv("BENCH_LUA") .. "/report.lua")

local json = {["Content-Type"] = "application/json"}
local phone, code, n = nil, nil, 0

function request()
  if code == nil then
    n = n + 1
    phone = string.format("+1%03d%07d", 100 + id, n)
    return wrk.format("POST", "/auth/otp", json, '{"phone": "' .. phone .. '"}')
  end
  return wrk.format("POST", "/auth/verify", json, '{"phone": "' .. phone .. '", "otp": "' .. code .. '"}')
end

function response(status, headers, body)
  if code == nil then
    count_status("otp " .. status)
    code = status == 200 and body:match('"otp":%s*"(%d+)"') or nil
  else
    count_status("verify " .. status)
    code = nil
  end
end
