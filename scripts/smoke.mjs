#!/usr/bin/env node
/**
 * Smoke test of `npm start` on the Node that runs this script: builds, starts the server with
 * PORT=0 and a fresh data folder, waits for /api/health, signs two people up through the API,
 * has one write to the other in a group and checks the other reads it, then mentions the
 * assistant and checks its answer arrives, streamed through the `ai` SDK from a scripted
 * OpenAI-compatible provider on loopback. Stops the server with SIGTERM and expects a clean
 * exit. Plain JavaScript with no dependencies, so it needs nothing built to run.
 *
 *   node scripts/smoke.mjs      (from the repository root, after `npm install`)
 *
 * Exits 0 and prints `smoke: 1 passed, 0 failed` when all held; otherwise says what did not.
 */
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const ANSWER = ['Hello ', 'from the ', 'smoke model.'];
const START_TIMEOUT_MS = 60_000;
const STEP_TIMEOUT_MS = 30_000;

/** What the server printed, shown when the smoke test fails. */
let output = '';
const step = (text) => console.log(`smoke [node ${process.version}]: ${text}`);

/** An OpenAI-compatible provider that answers every chat completion with the same text. */
function startModel() {
  const requests = [];
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      let parsed = {};
      try {
        parsed = JSON.parse(body);
      } catch {}
      requests.push({ path: request.url, body: parsed });
      const base = { id: 'chatcmpl-smoke', created: Math.floor(Date.now() / 1000), model: parsed.model ?? 'smoke' };
      if (parsed.stream !== true) {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ ...base, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: ANSWER.join('') }, finish_reason: 'stop' }], usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 } }));
        return;
      }
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const chunk = (delta, finishReason = null) => `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finishReason }] })}\n\n`;
      response.write(chunk({ role: 'assistant', content: '' }));
      for (const piece of ANSWER) response.write(chunk({ content: piece }));
      response.write(chunk({}, 'stop'));
      response.end('data: [DONE]\n\n');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${server.address().port}/v1`, requests, close: () => server.close() })));
}

async function until(what, check, timeoutMs = STEP_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function call(url, token, method, route, body) {
  const response = await fetch(`${url}${route}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${route} answered ${response.status}: ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : undefined;
}

async function main() {
  // `npm start` is `npm run build`, then `node packages/parley/dist/main.js`: run as two steps so
  // that SIGTERM reaches the server itself (npm dies of the signal without passing it on).
  step('npm run build');
  const build = spawnSync('npm', ['run', 'build'], { cwd: root, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`npm run build failed (${build.status ?? build.signal}):\n${build.stdout}${build.stderr}`);
  const model = await startModel();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-smoke-'));
  const server = spawn(process.execPath, ['packages/parley/dist/main.js'], {
    cwd: root,
    env: {
      ...process.env,
      PORT: '0',
      PARLEY_HOST: '127.0.0.1',
      PARLEY_DATA_DIR: dataDir,
      PARLEY_MODEL_PROVIDER: 'openai-compatible',
      PARLEY_MODEL: 'smoke-model',
      PARLEY_MODEL_BASE_URL: model.url,
      PARLEY_MODEL_MAX_RETRIES: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout.on('data', (chunk) => (output += chunk));
  server.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise((resolve) => server.once('exit', (code, signal) => resolve({ code, signal })));
  let exit;
  try {
    step('node packages/parley/dist/main.js');
    const url = await until('"Parley is running at" in the output', async () => {
      if (server.exitCode !== null) throw new Error(`the server exited with ${server.exitCode}`);
      return /running at (http:\/\/\S+)/.exec(output)?.[1];
    }, START_TIMEOUT_MS).catch((error) => {
      if (server.exitCode !== null) throw new Error(`the server exited with ${server.exitCode} before serving`);
      throw error;
    });
    await until('GET /api/health 200', async () => (await fetch(`${url}/api/health`)).status === 200);
    step(`${url} is healthy`);

    // The first thing a newcomer opens: the web client, with its policy, not an API error.
    const page = await fetch(`${url}/`);
    const html = await page.text();
    if (page.status !== 200 || !html.includes('<div id="root">') || !/script-src 'self'/.test(page.headers.get('content-security-policy') ?? '')) {
      throw new Error(`GET / answered ${page.status} ${JSON.stringify(html.slice(0, 200))}`);
    }
    step('GET / serves the web client');

    const suffix = crypto.randomBytes(3).toString('hex');
    const signUp = (name) => call(url, undefined, 'POST', '/api/auth/sign-up', { username: `${name}_${suffix}`, password: 'correct horse battery staple', displayName: name, session: 'token' });
    const ann = await signUp('ann');
    const bob = await signUp('bob');
    if (!ann.token || !bob.token) throw new Error('sign-up gave no bearer token');
    step('signed up two accounts');

    const view = await call(url, ann.token, 'POST', '/api/conversations', { kind: 'group', title: 'Smoke', usernames: [bob.user.username] });
    const conversationId = view.conversation.id;
    const messages = async () => (await call(url, bob.token, 'GET', `/api/conversations/${conversationId}/messages`)).messages;
    await call(url, ann.token, 'POST', `/api/conversations/${conversationId}/messages`, { id: crypto.randomBytes(12).toString('base64url'), text: 'Hello Bob' });
    await until('Bob reading Ann\'s message', async () => (await messages()).some((message) => message.text === 'Hello Bob'));
    step('a message in a group reached the other member');

    // Printed once the assistant's thread is connected.
    await until('the assistant\'s thread', async () => /Assistant: openai-compatible smoke-model/.test(output));
    const name = view.conversation.assistant?.name ?? 'Parley';
    await call(url, ann.token, 'POST', `/api/conversations/${conversationId}/messages`, { id: crypto.randomBytes(12).toString('base64url'), text: `${name}, say hello` });
    const answer = await until('the assistant\'s answer', async () => (await messages()).find((message) => message.turn !== null));
    if (answer.text !== ANSWER.join('') || answer.turn.status !== 'completed') {
      throw new Error(`the assistant answered ${JSON.stringify({ text: answer.text, turn: answer.turn })}`);
    }
    step(`the assistant answered "${answer.text}" (${model.requests.length} provider request(s))`);
  } finally {
    if (server.exitCode === null) server.kill('SIGTERM');
    const timer = setTimeout(() => server.kill('SIGKILL'), 20_000);
    exit = await exited;
    clearTimeout(timer);
    model.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  if (exit.code !== 0) throw new Error(`the server did not exit cleanly on SIGTERM: ${JSON.stringify(exit)}`);
  step('stopped cleanly');
}

main().then(
  () => {
    console.log('smoke: 1 passed, 0 failed');
  },
  (error) => {
    console.error(`smoke [node ${process.version}] FAILED: ${error instanceof Error ? error.message : error}`);
    console.error(`--- the server printed (last 4000 characters):\n${output.slice(-4000)}`);
    console.log('smoke: 0 passed, 1 failed');
    process.exit(1);
  },
);
