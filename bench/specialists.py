#!/usr/bin/env python3
"""Specialists on one base model, measured through the HTTP API of a running
`synapse serve` (bench/specialists.sh starts one):

  aggregate: 4 concurrent clients, each on its own specialist (4 different
             adapters), against the same 4 clients on the bare base model;
             tokens per second over all of them, and the ratio.
  ttft:      a specialist request with a ~300-token system prompt, cold
             (the first of a new specialist) against cached (its next one):
             time to an answer of max_tokens 1, and the ratio.

Usage: specialists.py URL SPECIALIST... (the ones for the aggregate round)."""
import json
import sys
import threading
import time
import urllib.request

url = sys.argv[1]
specs = sys.argv[2:]
rounds = 3
max_tokens = 256


def post(path, body):
    req = urllib.request.Request(url + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        return json.loads(r.read())


def chat(model, content, n):
    return post("/v1/chat/completions", {"model": model, "max_tokens": n, "temperature": 0,
                                         "messages": [{"role": "user", "content": content}]})


def aggregate(models):
    tokens = [0] * len(models)

    def client(i):
        for r in range(rounds):
            tokens[i] += chat(models[i], "question %d of client %d" % (r, i), max_tokens)["usage"]["completion_tokens"]

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(models))]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(tokens) / (time.time() - t0)


chat("synapse", "warm up", 8)
# alternate the two rounds and keep each one's best: these machines are noisy
base, mixed = 0, 0
for k in range(3):
    base = max(base, aggregate(["synapse"] * len(specs)))
    mixed = max(mixed, aggregate(["synapse/" + s for s in specs]))
print("aggregate: %d clients, base %.1f tok/s, %d different adapters %.1f tok/s, ratio %.2f"
      % (len(specs), base, len(specs), mixed, mixed / base))

words = " ".join("rule%d: answer in the voice of a careful engineer;" % i for i in range(40))
cold, warm = [], []
for k in range(3):
    name = "ttft%d" % k
    post("/api/specialists", {"name": name, "system_prompt": "You are specialist %d. %s" % (k, words)})
    t0 = time.time()
    r = chat("synapse/" + name, "first question", 1)
    cold.append(time.time() - t0)
    t0 = time.time()
    chat("synapse/" + name, "second question", 1)
    warm.append(time.time() - t0)
    n_prompt = r["usage"]["prompt_tokens"]
    urllib.request.urlopen(urllib.request.Request(url + "/api/specialists/" + name, method="DELETE"), timeout=60)
cold.sort()
warm.sort()
print("ttft: %d-token prompt, cold %.1f ms, cached %.1f ms (medians of 3), ratio %.1fx"
      % (n_prompt, cold[1] * 1e3, warm[1] * 1e3, cold[1] / warm[1]))
