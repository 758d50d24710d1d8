-- Shared by every bench script: count statuses per thread, and at the end print one JSON
-- line with totals and latency percentiles for bench/run.py to read.
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

counts = {}

function count_status(status)
  counts[tostring(status)] = (counts[tostring(status)] or 0) + 1
end

function response(status, headers, body)
  if headers["Idempotent-Replayed"] then
    count_status(tostring(status) .. " replayed")
  else
    count_status(status)
  end
end

function done(summary, latency, requests)
  local totals = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("counts")) do
      totals[status] = (totals[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(totals) do
    table.insert(parts, string.format('"%s": %d', status, n))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "seconds": %.3f, "p50_us": %d, "p99_us": %d, "socket_errors": %d, "statuses": {%s}}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, table.concat(parts, ", ")))
end

function lines(path)
  local all = {}
  for line in io.lines(path) do
    if line ~= "" then table.insert(all, line) end
  end
  return all
end
