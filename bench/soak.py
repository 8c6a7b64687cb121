"""Mixed traffic against a running synapse server for a while, sampling it.

python3 bench/soak.py PORT PID SECONDS

Every 10 s one line: elapsed seconds, RSS (MiB), open descriptors, p99 and
median time to first token of the streams in those 10 s, requests done,
expected refusals, unexpected errors. At the end the first and last values
and the count of unexpected errors; exit 1 if any.
"""
import json
import os
import random
import socket
import sys
import threading
import time
import urllib.error
import urllib.request

port, pid, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
base = "http://127.0.0.1:%d" % port
lock = threading.Lock()
stats = {"ok": 0, "refused": 0, "unexpected": 0, "ttft": []}
errors = []
stop_at = time.time() + seconds


def note(key, value=1):
    with lock:
        if key == "ttft":
            stats["ttft"].append(value)
        else:
            stats[key] += value


def unexpected(what):
    note("unexpected")
    with lock:
        if len(errors) < 20:
            errors.append(what)


def post(path, body, timeout=60, raw=False):
    data = body if raw else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, headers={"Content-Type": "application/json"})
    return urllib.request.urlopen(req, timeout=timeout)


def stream(leave_early):
    body = {"model": "synapse", "messages": [{"role": "user", "content": "hello %d" % random.randint(0, 99)}],
            "stream": True, "max_tokens": random.randint(8, 48), "temperature": 0.8}
    t = time.time()
    with post("/v1/chat/completions", body) as r:
        first = True
        for n, line in enumerate(r):
            if first and line.startswith(b"data: {") and b'"content"' in line:
                note("ttft", time.time() - t)
                first = False
            if leave_early and n > 3:
                return  # the connection closes: a disconnect mid-stream
            if line.startswith(b"data: [DONE]"):
                break
    note("ok")


def completion():
    with post("/v1/completions", {"model": "synapse", "prompt": "x", "max_tokens": 16}) as r:
        json.load(r)
    note("ok")


def abandoned():
    try:
        post("/v1/completions", {"model": "synapse", "prompt": "x", "temperature": 1}, timeout=0.2).read()
    except Exception:
        pass
    note("refused")  # a client that left: 499 in the server's metrics


def embeddings():
    with post("/v1/embeddings", {"model": "synapse", "input": ["text %d " % i * 20 for i in range(20)]}) as r:
        assert len(json.load(r)["data"]) == 20
    note("ok")


def bad():
    cases = [(b'{"model":', 400), (json.dumps({"model": "nope", "prompt": "x"}).encode(), 404),
             (b'{"model":"synapse","prompt":"a\\u0000b"}', 400), (b"x" * (5 << 20), 413)]
    body, want = random.choice(cases)
    try:
        post("/v1/completions", body, raw=True).read()
        unexpected("a bad request was accepted")
    except urllib.error.HTTPError as e:
        if e.code == want:
            note("refused")
        else:
            unexpected("bad request: %d, wanted %d" % (e.code, want))


def slow():
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\n")
    s.settimeout(6)
    try:
        got = s.recv(100)  # the 2 s request deadline answers 408
        note("refused" if b" 408 " in got or not got else "unexpected")
    except socket.timeout:
        unexpected("a slow client was not cut off")
    s.close()


kinds = [(stream, (False,), 5), (stream, (True,), 2), (completion, (), 3), (abandoned, (), 1),
         (embeddings, (), 2), (bad, (), 2), (slow, (), 1)]
weights = [k[2] for k in kinds]


def worker():
    while time.time() < stop_at:
        fn, args, _ = random.choices(kinds, weights)[0]
        try:
            fn(*args)
        except Exception as e:  # noqa: BLE001 - every failure is counted
            unexpected("%s: %r" % (fn.__name__, e))


def rss_mib():
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def sample(t0):
    with lock:
        tt = sorted(stats["ttft"])
        stats["ttft"] = []
        done, refused, bad_n = stats["ok"], stats["refused"], stats["unexpected"]
    p99 = tt[min(len(tt) - 1, int(len(tt) * 0.99))] * 1e3 if tt else float("nan")
    p50 = tt[len(tt) // 2] * 1e3 if tt else float("nan")
    return (time.time() - t0, rss_mib(), len(os.listdir("/proc/%d/fd" % pid)), p99, p50, done, refused, bad_n)


idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(50)]  # held open throughout
threads = [threading.Thread(target=worker, daemon=True) for _ in range(6)]
t0 = time.time()
for th in threads:
    th.start()
print("%8s %9s %5s %12s %12s %7s %8s %10s" % ("t_s", "rss_mib", "fds", "p99_ttft_ms", "p50_ttft_ms", "done",
                                              "refused", "unexpected"))
rows = []
while time.time() < stop_at:
    time.sleep(10)
    rows.append(sample(t0))
    print("%8.0f %9.1f %5d %12.1f %12.1f %7d %8d %10d" % rows[-1], flush=True)
for th in threads:
    th.join(timeout=30)
for s in idle:
    s.close()
first, last = rows[0], rows[-1]
print("start: rss %.1f MiB, %d fds, p99 ttft %.1f ms; end: rss %.1f MiB, %d fds, p99 ttft %.1f ms; "
      "%d done, %d refused as expected, %d unexpected" % (first[1], first[2], first[3], last[1], last[2], last[3],
                                                          last[5], last[6], last[7]))
for e in errors:
    print("unexpected:", e)
sys.exit(1 if last[7] else 0)
