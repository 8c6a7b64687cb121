// Drives a running `synapse serve` with the official openai npm package:
// non-stream vs stream, stop strings, seeds, n=2, logprobs, json_schema,
// embeddings, and 16 concurrent streaming clients with one leaving early.
// Usage: node openai.mjs BASE_URL NODE_MODULES_DIR. Exits 1 on any failure.
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';

const [base, modules] = process.argv.slice(2);
const require = createRequire(modules + '/');
const OpenAI = require('openai').default ?? require('openai');
const client = new OpenAI({ baseURL: base + '/v1', apiKey: 'test-key', maxRetries: 0, timeout: 60000 });
const msgs = [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Say something.' }];

let failures = 0;
async function test(name, fn) {
  try {
    await fn();
    console.log('ok   ' + name);
  } catch (e) {
    failures++;
    console.log('FAIL ' + name + ': ' + (e && e.stack || e));
  }
}

async function streamText(params, signalAfter) {
  const stream = await client.chat.completions.create({ ...params, stream: true });
  const parts = {};
  let finish = {}, usage = null, chunks = 0, sawRole = false;
  for await (const ch of stream) {
    chunks++;
    if (ch.usage) usage = ch.usage;
    for (const c of ch.choices) {
      if (c.delta.role === 'assistant') sawRole = true;
      if (c.delta.content) parts[c.index] = (parts[c.index] ?? '') + c.delta.content;
      if (c.finish_reason) finish[c.index] = c.finish_reason;
    }
    if (signalAfter && chunks >= signalAfter) { stream.controller.abort(); break; }
  }
  return { text: parts[0] ?? '', parts, finish, usage, sawRole, chunks };
}

await test('models lists synapse', async () => {
  const list = await client.models.list();
  assert.ok(list.data.some((m) => m.id === 'synapse'));
});

const greedy = { model: 'synapse', messages: msgs, max_tokens: 12, temperature: 0 };
let alone;
await test('non-stream chat: text, finish length, exact usage', async () => {
  const r = await client.chat.completions.create(greedy);
  alone = r.choices[0].message.content;
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.ok(alone.length > 0);
  assert.equal(r.choices[0].finish_reason, 'length');
  assert.equal(r.usage.completion_tokens, 12);
  assert.ok(r.usage.prompt_tokens > 5);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + 12);
});

await test('stream text equals non-stream text under greedy, role first, usage chunk', async () => {
  const s = await streamText({ ...greedy, stream_options: { include_usage: true } });
  assert.ok(s.sawRole);
  assert.equal(s.text, alone);
  assert.equal(s.finish[0], 'length');
  assert.equal(s.usage.completion_tokens, 12);
});

await test('stop string cuts the text before it, finish stop', async () => {
  const long = await client.chat.completions.create({ ...greedy, max_tokens: 24, temperature: 1, seed: 7 });
  const text = long.choices[0].message.content;
  // a stop taken from inside the text: everything before its first occurrence remains
  const stop = text.slice(Math.floor(text.length / 2), Math.floor(text.length / 2) + 3);
  assert.ok(stop.length === 3, 'need some text: ' + JSON.stringify(text));
  const r = await client.chat.completions.create({ ...greedy, max_tokens: 24, temperature: 1, seed: 7, stop: [stop] });
  assert.equal(r.choices[0].message.content, text.slice(0, text.indexOf(stop)));
  assert.equal(r.choices[0].finish_reason, 'stop');
  const s = await streamText({ ...greedy, max_tokens: 24, temperature: 1, seed: 7, stop });
  assert.equal(s.text, text.slice(0, text.indexOf(stop)));
});

await test('same seed same text, other seed other text', async () => {
  const p = { model: 'synapse', messages: msgs, max_tokens: 16, temperature: 1.0, seed: 1234 };
  const a = await client.chat.completions.create(p);
  const b = await client.chat.completions.create(p);
  const c = await client.chat.completions.create({ ...p, seed: 99 });
  assert.equal(a.choices[0].message.content, b.choices[0].message.content);
  assert.notEqual(a.choices[0].message.content, c.choices[0].message.content);
});

await test('n=2 gives two choices, both streamed', async () => {
  const r = await client.chat.completions.create({ model: 'synapse', messages: msgs, max_tokens: 8, temperature: 1, seed: 5, n: 2 });
  assert.equal(r.choices.length, 2);
  assert.deepEqual(r.choices.map((c) => c.index), [0, 1]);
  assert.equal(r.usage.completion_tokens, 16);
  const s = await streamText({ model: 'synapse', messages: msgs, max_tokens: 8, temperature: 1, seed: 5, n: 2 });
  assert.equal(s.parts[0], r.choices[0].message.content);
  assert.equal(s.parts[1], r.choices[1].message.content);
});

const cachedTokens = async () =>
  +(await (await fetch(base + '/metrics')).text()).match(/^synapse_prompt_tokens_cached_total (\d+)/m)[1];

await test('n=2 under greedy: choice 1 copies the prompt choice 0 ran, same text', async () => {
  const p = { model: 'synapse', messages: [{ role: 'user', content: 'A prompt no slot has seen: n2 copy.' }], max_tokens: 6, temperature: 0 };
  const solo = (await client.chat.completions.create(p)).choices[0].message.content;
  const q = { ...p, messages: [{ role: 'user', content: 'Another prompt no slot has seen: n2 copy.' }] };
  const one = (await client.chat.completions.create(q)).choices[0].message.content;
  const before = await cachedTokens();
  const r = await client.chat.completions.create({ ...q, n: 2 });
  const got = (await cachedTokens()) - before;
  assert.equal(r.choices[0].message.content, one);
  assert.equal(r.choices[1].message.content, one);
  // choice 0 finds all but the last prompt token in the slot that ran q;
  // choice 1 gets as many copied from choice 0 once it has run them
  assert.ok(got >= 2 * (r.usage.prompt_tokens - 1), `cached ${got} of 2 x ${r.usage.prompt_tokens}`);
  assert.ok(solo.length > 0);
});

await test("a prompt sharing a busy slot's prefix copies it, text unchanged", async () => {
  const sys = { role: 'system', content: 'You are a careful assistant who answers in one short sentence about caches.' };
  const p = { model: 'synapse', messages: [sys, { role: 'user', content: 'Name a color.' }], max_tokens: 8, temperature: 0 };
  const solo = (await client.chat.completions.create(p)).choices[0].message.content;
  // a long stream on the same system prompt takes the slot that holds it...
  const stream = await client.chat.completions.create({ ...p, messages: [sys, { role: 'user', content: 'Tell a story.' }], max_tokens: 120, stream: true });
  const it = stream[Symbol.asyncIterator]();
  await it.next();
  // ...so this one runs in another slot and copies the system prompt over
  const before = await cachedTokens();
  const r = await client.chat.completions.create(p);
  const got = (await cachedTokens()) - before;
  stream.controller.abort();
  assert.equal(r.choices[0].message.content, solo);
  assert.ok(got >= r.usage.prompt_tokens - 12, `cached ${got} of ${r.usage.prompt_tokens}`);
});

await test('requests arriving together on a new system prompt compute it once, text unchanged', async () => {
  const sys = { role: 'system', content: 'You are a terse librarian of the northern archive who never repeats a word, shelf nine.' };
  const users = ['Name a fruit.', 'Name a river.', 'Name a tool.', 'Name a bird.'];
  const req = (u) => ({ model: 'synapse', messages: [sys, { role: 'user', content: u }], max_tokens: 6, temperature: 0 });
  const before = await cachedTokens();
  const together = await Promise.all(users.map((u) => client.chat.completions.create(req(u))));
  const got = (await cachedTokens()) - before;
  // the first computes the system prompt; the others copy it, whether they
  // waited for it in the same admission or found it in a slot afterwards
  const shared = Math.min(...together.map((r) => r.usage.prompt_tokens)) - 12;
  assert.ok(got >= 3 * shared, `cached ${got} of 3 x ${shared}`);
  for (let i = 0; i < users.length; i++) {
    const solo = await client.chat.completions.create(req(users[i]));
    assert.equal(together[i].choices[0].message.content, solo.choices[0].message.content);
  }
});

await test('logprobs with top_logprobs', async () => {
  const r = await client.chat.completions.create({ ...greedy, max_tokens: 5, logprobs: true, top_logprobs: 3 });
  const lp = r.choices[0].logprobs.content;
  assert.equal(lp.length, 5);
  for (const t of lp) {
    assert.ok(t.logprob <= 0);
    assert.equal(t.top_logprobs.length, 3);
    // greedy: the chosen token is the most likely one
    assert.ok(Math.abs(t.top_logprobs[0].logprob - t.logprob) < 1e-5);
    assert.ok(t.top_logprobs[0].logprob >= t.top_logprobs[1].logprob);
  }
  assert.equal(lp.map((t) => t.token).join(''), r.choices[0].message.content);
});

await test('json_schema output parses and follows the schema', async () => {
  const schema = {
    type: 'object',
    properties: { ok: { type: 'boolean' }, color: { enum: ['red', 'green'] }, n: { type: 'integer' } },
    required: ['ok', 'color'],
    additionalProperties: false,
  };
  for (const seed of [1, 2, 3]) {
    const r = await client.chat.completions.create({
      model: 'synapse', messages: msgs, max_tokens: 64, temperature: 1, seed,
      response_format: { type: 'json_schema', json_schema: { name: 't', schema, strict: true } },
    });
    const text = r.choices[0].message.content;
    assert.equal(r.choices[0].finish_reason, 'stop', text);
    const v = JSON.parse(text);
    assert.equal(typeof v.ok, 'boolean');
    assert.ok(['red', 'green'].includes(v.color));
    assert.ok(v.n === undefined || Number.isInteger(v.n));
    assert.deepEqual(Object.keys(v).filter((k) => !['ok', 'color', 'n'].includes(k)), []);
  }
});

await test('json_schema with an unsupported keyword fails closed (400)', async () => {
  await assert.rejects(
    client.chat.completions.create({
      model: 'synapse', messages: msgs, max_tokens: 8,
      response_format: { type: 'json_schema', json_schema: { name: 't', schema: { type: 'string', pattern: '^a+$' } } },
    }),
    (e) => e.status === 400 && /pattern/.test(e.message),
  );
});

// tools: a call the model must make is decoded under the function's
// schema (enums, so even this model of noise finishes it); the result goes
// back as a tool message
const tools = [
  { type: 'function', function: { name: 'get_weather', description: 'The weather in a city',
    parameters: { type: 'object', properties: { city: { enum: ['Oslo', 'Paris'] }, metric: { type: 'boolean' } },
      required: ['city', 'metric'] } } },
  { type: 'function', function: { name: 'get_time', parameters: { type: 'object',
    properties: { zone: { enum: ['UTC', 'CET'] } }, required: ['zone'] } } },
];
const weather = { type: 'function', function: { name: 'get_weather' } };
await test('a named tool call: tool_calls, arguments by its schema, finish tool_calls', async () => {
  const r = await client.chat.completions.create({ ...greedy, max_tokens: 60, tools, tool_choice: weather });
  const m = r.choices[0].message;
  assert.equal(r.choices[0].finish_reason, 'tool_calls');
  assert.equal(m.content, null);
  assert.equal(m.tool_calls.length, 1);
  const call = m.tool_calls[0];
  assert.equal(call.type, 'function');
  assert.equal(call.function.name, 'get_weather');
  assert.match(call.id, /^call_/);
  const args = JSON.parse(call.function.arguments);
  assert.ok(['Oslo', 'Paris'].includes(args.city) && typeof args.metric === 'boolean', call.function.arguments);
});

await test('a named tool call streamed: id, type and name first, then the arguments', async () => {
  const stream = await client.chat.completions.create({ ...greedy, max_tokens: 60, tools, tool_choice: weather,
    stream: true });
  const calls = [];
  let finish = null, first = null;
  for await (const ch of stream) {
    for (const c of ch.choices) {
      for (const d of c.delta.tool_calls ?? []) {
        if (!first) first = d;
        calls[d.index] ??= { id: d.id, name: d.function?.name, arguments: '' };
        calls[d.index].arguments += d.function?.arguments ?? '';
      }
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  assert.equal(finish, 'tool_calls');
  assert.ok(first.id && first.type === 'function' && first.function.name === 'get_weather', JSON.stringify(first));
  assert.equal(calls.length, 1);
  const args = JSON.parse(calls[0].arguments);
  assert.ok(['Oslo', 'Paris'].includes(args.city), calls[0].arguments);
});

await test('a tool round trip: the call and its result go back, the model answers', async () => {
  const r = await client.chat.completions.create({ ...greedy, max_tokens: 60, tools, tool_choice: weather });
  const call = r.choices[0].message.tool_calls[0];
  const again = await client.chat.completions.create({ ...greedy, max_tokens: 4, tools, messages: [...msgs,
    r.choices[0].message, { role: 'tool', tool_call_id: call.id, content: '12 C and rain' }] });
  assert.equal(again.choices[0].message.role, 'assistant');
  assert.ok(again.usage.prompt_tokens > r.usage.prompt_tokens);
});

await test('tool_choice none: no calls; a bad tool or choice is 400 naming it', async () => {
  const r = await client.chat.completions.create({ ...greedy, max_tokens: 4, tools, tool_choice: 'none' });
  assert.ok(!r.choices[0].message.tool_calls);
  await assert.rejects(client.chat.completions.create({ ...greedy, tools,
    tool_choice: { type: 'function', function: { name: 'nope' } } }), (e) => e.status === 400 && /nope/.test(e.message));
  await assert.rejects(client.chat.completions.create({ ...greedy, tools: [{ type: 'function', function: { name: 'bad name' } }] }),
    (e) => e.status === 400 && e.param === 'tools[0]');
  await assert.rejects(client.chat.completions.create({ ...greedy, tools, n: 2 }), (e) => e.status === 400 && e.param === 'n');
});

await test('unknown model is 404', async () => {
  await assert.rejects(client.chat.completions.create({ ...greedy, model: 'gpt-4' }), (e) => e.status === 404);
});

await test('completions API', async () => {
  const r = await client.completions.create({ model: 'synapse', prompt: 'Once upon', max_tokens: 6, temperature: 0, logprobs: 2 });
  assert.equal(r.object, 'text_completion');
  assert.equal(r.usage.completion_tokens, 6);
  assert.equal(r.choices[0].logprobs.tokens.join(''), r.choices[0].text);
});

await test('embeddings are normalised', async () => {
  const r = await client.embeddings.create({ model: 'synapse', input: ['hello world', 'another text'] });
  assert.equal(r.data.length, 2);
  for (const d of r.data) {
    const norm = Math.sqrt(d.embedding.reduce((a, x) => a + x * x, 0));
    assert.ok(Math.abs(norm - 1) < 1e-3, 'norm ' + norm);
  }
});

await test('16 concurrent streams, one leaving early; greedy unchanged under load', async () => {
  const jobs = [];
  for (let i = 0; i < 16; i++) {
    if (i === 3) jobs.push(streamText({ ...greedy, max_tokens: 200 }, 3).then(() => 'left'));
    else if (i % 2) jobs.push(streamText(greedy).then((s) => s.text));
    else jobs.push(streamText({ model: 'synapse', messages: [{ role: 'user', content: 'client ' + i }], max_tokens: 12, temperature: 0.8, seed: i }).then((s) => s.text));
  }
  const out = await Promise.all(jobs);
  for (let i = 1; i < 16; i += 2) if (i !== 3) assert.equal(out[i], alone, 'greedy text changed in a busy batch');
  const h = await fetch(base + '/health');
  assert.equal(h.status, 200);
  const m = await (await fetch(base + '/metrics')).text();
  const steps = +m.match(/^synapse_forward_steps_total (\d+)/m)[1];
  const rows = +m.match(/^synapse_forward_rows_total (\d+)/m)[1];
  assert.ok(rows > steps * 1.5, `batching: ${rows} rows in ${steps} steps`);
});

await test('the early leaver was dropped: the batch drains', async () => {
  const deadline = Date.now() + 20000;
  for (;;) {
    const st = await (await fetch(base + '/api/status', { headers: { authorization: 'Bearer test-key' } })).json();
    if (st.active === 0 && st.queued === 0) break;
    assert.ok(Date.now() < deadline, 'sequences still active: ' + JSON.stringify(st));
    await new Promise((r) => setTimeout(r, 100));
  }
});

process.exit(failures ? 1 : 0);
