// Unit tests of the counting proxy's parser (bench/lib/frame-count.mjs); run by bench/run.mjs.
import assert from "node:assert/strict";
import { test } from "node:test";
import { emptyCounts, StreamTap } from "../lib/frame-count.mjs";

/** One WebSocket frame; masked as a client writes it when `mask` is given. */
function frame(opcode, text, mask = null) {
  const payload = Buffer.from(text);
  const length = payload.length;
  const head = length < 126 ? [0x80 | opcode, length] : [0x80 | opcode, 126, length >> 8, length & 0xff];
  if (mask) head[1] |= 0x80;
  const body = mask ? payload.map((b, i) => b ^ mask[i % 4]) : payload;
  return Buffer.concat([Buffer.from(head), mask ? Buffer.from(mask) : Buffer.alloc(0), body]);
}

const isUpgrade = (head) => /\r\nupgrade:\s*websocket/i.test(head);

test("after an upgrade request, masked frames are counted by type, split anywhere", () => {
  const counts = emptyCounts();
  const tap = new StreamTap("up", counts, isUpgrade);
  const mask = [1, 2, 3, 4];
  const health = JSON.stringify({ load: "x".repeat(400), type: "health" });
  const bytes = Buffer.concat([
    Buffer.from("GET /v1/agents/a/connect HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n"),
    frame(1, '{"type":"ack","ids":["a"]}', mask),
    frame(1, health, mask),
    frame(9, "", mask),
    frame(1, "ping", mask),
    frame(1, '{"type":"processed","items":[]}', mask),
  ]);
  for (let i = 0; i < bytes.length; i += 7) tap.push(bytes.subarray(i, i + 7));
  assert.equal(counts.httpRequests, 1);
  assert.equal(counts.up.dataFrames, 3);
  assert.equal(counts.up.controlFrames, 1);
  assert.equal(counts.up.autoResponses, 1);
  assert.deepEqual(counts.up.byType, {
    ack: 1,
    health: 1,
    "(ping)": 1,
    "(ping, auto-response)": 1,
    processed: 1,
  });
});

test("a plain HTTP connection counts its keep-alive requests and parses no frames", () => {
  const counts = emptyCounts();
  const tap = new StreamTap("up", counts, isUpgrade);
  tap.push(Buffer.from("POST /v1/agents/b/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"));
  tap.push(Buffer.from("GET /v1/agents/b/status HTTP/1.1\r\nHost: x\r\n\r\n"));
  assert.equal(counts.httpRequests, 2);
  assert.equal(counts.up.dataFrames, 0);
});

test("the relay's side: frames after the 101 answer, unmasked", () => {
  const counts = emptyCounts();
  const tap = new StreamTap("down", counts, (head) => head.startsWith("HTTP/1.1 101"));
  tap.push(Buffer.from("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"));
  tap.push(frame(1, JSON.stringify({ type: "deliver", items: ["y".repeat(300)] })));
  assert.deepEqual(counts.down.byType, { deliver: 1 });
  assert.equal(counts.httpRequests, 0);
});
