-- POST the body in the BODY environment variable to /api/v1/tasks (or BULK's path).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("BODY")
wrk.path = os.getenv("TARGET") or "/api/v1/tasks"

local failures = 0
response = function(status, headers, body)
  if status ~= 201 then
    failures = failures + 1
    if failures <= 3 then io.stderr:write("unexpected status " .. status .. ": " .. body .. "\n") end
  end
end
