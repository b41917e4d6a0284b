-- wrk script: POST one KServe V1 request (an iris row) again and again.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"instances": [[6.2, 3.4, 5.4, 2.3]]}'
