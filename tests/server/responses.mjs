// Drives a running `synapse serve` through OpenAI's Responses API with the
// official openai npm package: the same answer as chat completions, whole
// and streamed (responses.stream() checks the events add up), input items,
// text.format, function calls and their round trip, and the fields this
// server refuses by name.
// Usage: node responses.mjs BASE_URL NODE_MODULES_DIR. Exits 1 on any failure.
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';

const [base, modules] = process.argv.slice(2);
const require = createRequire(modules + '/');
const OpenAI = require('openai').default ?? require('openai');
const client = new OpenAI({ baseURL: base + '/v1', apiKey: 'test-key', maxRetries: 0, timeout: 60000 });

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

const greedy = { model: 'synapse', instructions: 'You are terse.', input: 'Say something.', max_output_tokens: 12,
  temperature: 0 };
const chat = await client.chat.completions.create({ model: 'synapse', max_tokens: 12, temperature: 0,
  messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Say something.' }] });
const chatText = chat.choices[0].message.content;

let whole;
await test('a response is the chat answer: text, usage, incomplete at max_output_tokens', async () => {
  whole = await client.responses.create(greedy);
  assert.match(whole.id, /^resp_/);
  assert.equal(whole.object, 'response');
  assert.equal(whole.status, 'incomplete');
  assert.equal(whole.incomplete_details.reason, 'max_output_tokens');
  assert.equal(whole.output_text, chatText);
  assert.equal(whole.output.length, 1);
  const m = whole.output[0];
  assert.ok(m.type === 'message' && m.role === 'assistant' && /^msg_/.test(m.id), JSON.stringify(m));
  assert.equal(m.content[0].type, 'output_text');
  assert.equal(whole.usage.output_tokens, 12);
  assert.equal(whole.usage.input_tokens, chat.usage.prompt_tokens);
  assert.equal(whole.usage.total_tokens, whole.usage.input_tokens + 12);
  assert.equal(whole.instructions, 'You are terse.');
  assert.equal(whole.max_output_tokens, 12);
  assert.equal(whole.store, false);
  assert.ok(whole.synapse && whole.synapse.route, 'the route rides along');
});

await test('responses.stream(): events in order, numbered, adding up to the same answer', async () => {
  const stream = client.responses.stream(greedy);
  const types = [], seqs = [];
  let deltas = '';
  stream.on('event', (e) => { types.push(e.type); seqs.push(e.sequence_number); });
  stream.on('response.output_text.delta', (e) => { deltas += e.delta; });
  const final = await stream.finalResponse();
  assert.equal(final.output_text, chatText);
  assert.equal(deltas, chatText);
  assert.equal(final.status, 'incomplete');
  assert.equal(final.usage.output_tokens, 12);
  assert.deepEqual(seqs, seqs.map((_, i) => i));
  assert.deepEqual(types.slice(0, 4), ['response.created', 'response.in_progress', 'response.output_item.added',
    'response.content_part.added']);
  assert.deepEqual(types.slice(-4), ['response.output_text.done', 'response.content_part.done',
    'response.output_item.done', 'response.incomplete']);
  assert.ok(types.slice(4, -4).every((t) => t === 'response.output_text.delta'), types.join(' '));
});

await test('a short answer completes; stream: true yields the raw events', async () => {
  const stream = await client.responses.create({ ...greedy, max_output_tokens: 64, stream: true });
  let last, text = '';
  for await (const e of stream) {
    last = e;
    if (e.type === 'response.output_text.done') text = e.text;
  }
  assert.ok(['response.completed', 'response.incomplete'].includes(last.type), last.type);
  assert.equal(last.response.output_text ?? last.response.output[0].content[0].text, text);
  if (last.type === 'response.completed') assert.equal(last.response.incomplete_details, null);
});

await test('input as items (developer, input_text parts) means the same as the string', async () => {
  const r = await client.responses.create({ model: 'synapse', max_output_tokens: 12, temperature: 0, input: [
    { role: 'developer', content: 'You are terse.' },
    { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Say ' }, { type: 'input_text', text: 'something.' }] },
  ] });
  assert.equal(r.output_text, chatText);
  assert.equal(r.usage.input_tokens, whole.usage.input_tokens);
});

await test('a conversation: a past assistant turn and a past reasoning item go back in', async () => {
  const r = await client.responses.create({ model: 'synapse', max_output_tokens: 4, temperature: 0, input: [
    { role: 'user', content: 'Say something.' },
    { type: 'reasoning', id: 'rs_1', summary: [] },
    { role: 'assistant', content: [{ type: 'output_text', text: chatText, annotations: [] }] },
    { role: 'user', content: 'Again.' },
  ] });
  assert.equal(r.usage.output_tokens, 4);
  assert.ok(r.usage.input_tokens > whole.usage.input_tokens);
});

await test('text.format json_schema: the text parses and follows the schema', async () => {
  const schema = { type: 'object', properties: { ok: { type: 'boolean' }, color: { enum: ['red', 'green'] } },
    required: ['ok', 'color'], additionalProperties: false };
  const r = await client.responses.create({ model: 'synapse', input: 'Answer.', max_output_tokens: 64, temperature: 1,
    text: { format: { type: 'json_schema', name: 't', schema, strict: true } } });
  assert.equal(r.status, 'completed', r.output_text);
  const v = JSON.parse(r.output_text);
  assert.equal(typeof v.ok, 'boolean');
  assert.ok(['red', 'green'].includes(v.color));
  assert.deepEqual(r.text.format.name, 't');
});

const tools = [
  { type: 'function', name: 'get_weather', description: 'The weather in a city', strict: true,
    parameters: { type: 'object', properties: { city: { enum: ['Oslo', 'Paris'] }, metric: { type: 'boolean' } },
      required: ['city', 'metric'], additionalProperties: false } },
  { type: 'function', name: 'get_time', parameters: { type: 'object', properties: { zone: { enum: ['UTC', 'CET'] } },
    required: ['zone'] } },
];
const weather = { type: 'function', name: 'get_weather' };
let called;
await test('a named function call: a function_call item, arguments by its schema', async () => {
  called = await client.responses.create({ ...greedy, max_output_tokens: 60, tools, tool_choice: weather });
  assert.equal(called.status, 'completed');
  const calls = called.output.filter((o) => o.type === 'function_call');
  assert.equal(calls.length, 1, JSON.stringify(called.output));
  const f = calls[0];
  assert.match(f.id, /^fc_/);
  assert.match(f.call_id, /^call_/);
  assert.equal(f.name, 'get_weather');
  const args = JSON.parse(f.arguments);
  assert.ok(['Oslo', 'Paris'].includes(args.city) && typeof args.metric === 'boolean', f.arguments);
  assert.equal(called.tools[0].name, 'get_weather');
});

await test('a function call streamed: its arguments delta by delta, the same call', async () => {
  const stream = client.responses.stream({ ...greedy, max_output_tokens: 60, tools, tool_choice: weather });
  let args = '', done = null, added = null;
  stream.on('response.output_item.added', (e) => { if (e.item.type === 'function_call') added = e.item; });
  stream.on('response.function_call_arguments.delta', (e) => { args += e.delta; });
  stream.on('response.function_call_arguments.done', (e) => { done = e; });
  const final = await stream.finalResponse();
  assert.ok(added && added.name === 'get_weather' && added.status === 'in_progress', JSON.stringify(added));
  assert.equal(done.arguments, args);
  assert.equal(done.name, 'get_weather');
  const f = final.output.find((o) => o.type === 'function_call');
  assert.equal(f.arguments, called.output.find((o) => o.type === 'function_call').arguments);
  assert.equal(f.status, 'completed');
});

await test('a function round trip: the call and its output go back as items', async () => {
  const call = called.output.find((o) => o.type === 'function_call');
  const asked = [{ role: 'user', content: 'Weather?' }, call];
  const before = await client.responses.create({ model: 'synapse', max_output_tokens: 4, temperature: 0, tools,
    tool_choice: 'none', input: asked });
  const r = await client.responses.create({ model: 'synapse', max_output_tokens: 4, temperature: 0, tools,
    tool_choice: 'none', input: [...asked, { type: 'function_call_output', call_id: call.call_id, output: '12 C' }] });
  assert.equal(r.output[0].type, 'message');
  assert.ok(r.usage.input_tokens > before.usage.input_tokens + 2, 'the output is in the prompt');
  await assert.rejects(client.responses.create({ model: 'synapse', tools, input: [{ role: 'user', content: 'x' }, call,
    { type: 'function_call_output', call_id: 'call_nope', output: '12 C' }] }), (e) => e.status === 400 && e.param === 'input[2]');
});

const refused = async (params, param, status = 400) =>
  assert.rejects(client.responses.create({ model: 'synapse', input: 'x', max_output_tokens: 4, ...params }),
    (e) => e.status === status && (param === undefined || e.param === param) || assert.fail(`${e.status} ${e.param}: ${e.message}`));

await test('what this server cannot honour is refused, naming the field', async () => {
  await refused({ previous_response_id: 'resp_1' }, 'previous_response_id');
  await refused({ conversation: 'conv_1' }, 'conversation');
  await refused({ store: true }, 'store');
  await refused({ background: true }, 'background');
  await refused({ tools: [{ type: 'web_search' }] }, 'tools[0]');
  await refused({ input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'http://x/y.png' }] }], }, 'input[0].content');
  await refused({ input: [{ type: 'item_reference', id: 'msg_1' }] }, 'input[0]');
  await refused({ include: ['reasoning.encrypted_content'] }, 'include');
  await refused({ reasoning: { effort: 'high' } }, 'reasoning.effort');
  await refused({ reasoning: { summary: 'auto' } }, 'reasoning.summary');
  await refused({ truncation: 'auto' }, 'truncation');
  await refused({ top_logprobs: 2 }, 'top_logprobs');
  await refused({ max_output_tokens: 0 }, 'max_output_tokens');
  await refused({ text: { format: { type: 'xml' } } }, 'text.format');
  await refused({ frobnicate: 1 }, 'frobnicate');
  await refused({ model: 'nope' }, undefined, 404);
  await refused({ input: [] }, 'input');
});

await test('tool_choice none and a reasoning effort of none are honoured', async () => {
  const r = await client.responses.create({ ...greedy, max_output_tokens: 4, tools, tool_choice: 'none',
    reasoning: { effort: 'none' } });
  assert.ok(!r.output.some((o) => o.type === 'function_call'));
  assert.equal(r.reasoning.effort, 'none');
});

process.exit(failures ? 1 : 0);
