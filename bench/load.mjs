// Load benchmark for `synapse serve`: C concurrent clients each stream R chat
// completions; prints aggregate generated tokens/s and TTFT p50/p99.
// Usage: node bench/load.mjs BASE_URL CLIENTS [REQUESTS_PER_CLIENT] [MAX_TOKENS]
// Plain fetch + SSE parsing, so it needs nothing installed.
const [base, clientsArg, reqArg, maxArg] = process.argv.slice(2);
const clients = +clientsArg || 1, perClient = +reqArg || 2, maxTokens = +maxArg || 64;

async function one(i, k) {
  const t0 = performance.now();
  const res = await fetch(base + '/v1/chat/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'synapse', stream: true, stream_options: { include_usage: true }, max_tokens: maxTokens,
      temperature: 0.7, seed: i * 1000 + k,
      messages: [{ role: 'user', content: `Client ${i} request ${k}: write a short story about a robot.` }],
    }),
  });
  if (res.status !== 200) throw new Error('status ' + res.status + ': ' + (await res.text()));
  let ttft = null, tokens = 0, buf = '';
  const dec = new TextDecoder();
  for await (const part of res.body) {
    buf += dec.decode(part, { stream: true });
    let at;
    while ((at = buf.indexOf('\n\n')) >= 0) {
      const ev = buf.slice(0, at);
      buf = buf.slice(at + 2);
      if (!ev.startsWith('data: ') || ev === 'data: [DONE]') continue;
      const o = JSON.parse(ev.slice(6));
      if (o.usage) tokens = o.usage.completion_tokens;
      if (ttft === null && o.choices.some((c) => c.delta && c.delta.content)) ttft = performance.now() - t0;
    }
  }
  return { ttft: ttft ?? performance.now() - t0, tokens };
}

const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const t0 = performance.now();
const results = (await Promise.all(
  Array.from({ length: clients }, async (_, i) => {
    const out = [];
    for (let k = 0; k < perClient; k++) out.push(await one(i, k));
    return out;
  }),
)).flat();
const wall = (performance.now() - t0) / 1000;
const tokens = results.reduce((a, r) => a + r.tokens, 0);
const ttfts = results.map((r) => r.ttft).sort((a, b) => a - b);
console.log(JSON.stringify({
  clients, requests: results.length, tokens, wall_s: +wall.toFixed(2), tok_per_s: +(tokens / wall).toFixed(2),
  ttft_p50_ms: +pct(ttfts, 50).toFixed(0), ttft_p99_ms: +pct(ttfts, 99).toFixed(0),
}));
