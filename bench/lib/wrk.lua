-- wrk script for every load run of bench/run.sh.
--   WRK_METHOD=GET  (default) a plain GET
--   WRK_METHOD=POST a POST with a 1 KiB JSON body (Content-Type: application/json)
-- Requests are pre-built (no per-request Lua), so the script does not slow wrk down. done()
-- prints one machine-readable line, "WRKJSON {...}", latencies in microseconds (wrk's
-- histogram of the measured run).

local method = os.getenv("WRK_METHOD") or "GET"

if method == "POST" then
    local head = '{"event":"checkout","user_id":"u-000123456","note":"'
    local tail = '"}'
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
    wrk.body = head .. string.rep("x", 1024 - #head - #tail) .. tail
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        'WRKJSON {"method":"%s","requests":%d,"duration_us":%d,"non2xx":%d,'
        .. '"err_connect":%d,"err_read":%d,"err_write":%d,"err_timeout":%d,'
        .. '"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d,"body_bytes":%d}\n',
        method, summary.requests, summary.duration, e.status,
        e.connect, e.read, e.write, e.timeout,
        latency:percentile(50), latency:percentile(90),
        latency:percentile(99), latency:percentile(99.9), latency.max,
        wrk.body and #wrk.body or 0))
end
