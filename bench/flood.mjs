// The invalid-key flood of bench/keys.py: a paced sender that costs the machine little.
//
//   node bench/flood.mjs SETTINGS.json
//
// where SETTINGS.json is {"target": "127.0.0.1:PORT", "method": "/pkg.Service/Method",
// "rate": 1000, "duration": 7, "keys": ["chr_…", …], "many_clients": true} for gRPC, or
// has "url": "http://127.0.0.1:PORT/api/v1/…" instead of target and method for REST.
//
// Sends `rate` calls a second for `duration` seconds without waiting for answers, each
// with the next key of `keys` (round-robin) in x-api-key; with `many_clients`, each also
// claims a random client address: in chronicle-client-address over gRPC, as an edge
// forwards it, or in X-Forwarded-For over HTTP, as a proxy in front of the edge would.
// Prints one JSON line: {sent, rate, answers: {CODE or HTTP status: n}, cpu}.
// Written for Node because a Python gRPC client spends most of a core on 1,000 calls a
// second, which would starve the valid load sharing its CPU.
import { readFileSync } from "node:fs";
import http from "node:http";
import grpc from "@grpc/grpc-js";

const opts = JSON.parse(readFileSync(process.argv[2], "utf8"));
const client = new grpc.Client(opts.target ?? "127.0.0.1:1", grpc.credentials.createInsecure());
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const codeNames = Object.fromEntries(Object.entries(grpc.status).map(([k, v]) => [v, k]));
const empty = Buffer.alloc(0);
const answers = {};
let sent = 0;
let pending = 0;

function octet() {
  return Math.floor(Math.random() * 256);
}

function answered(name) {
  answers[name] = (answers[name] ?? 0) + 1;
  pending -= 1;
}

function sendHttp() {
  const headers = { "x-api-key": opts.keys[sent % opts.keys.length] };
  if (opts.many_clients) headers["x-forwarded-for"] = `10.${octet()}.${octet()}.${octet()}`;
  sent += 1;
  pending += 1;
  const request = http.get(opts.url, { agent, headers, timeout: 10_000 }, (response) => {
    response.resume();
    response.on("end", () => answered(String(response.statusCode)));
  });
  request.on("error", (error) => answered(error.code ?? "ERROR"));
}

function send() {
  if (opts.url) return sendHttp();
  const metadata = new grpc.Metadata();
  metadata.set("x-api-key", opts.keys[sent % opts.keys.length]);
  if (opts.many_clients) {
    metadata.set("chronicle-client-address", `10.${octet()}.${octet()}.${octet()}`);
  }
  sent += 1;
  pending += 1;
  client.makeUnaryRequest(
    opts.method,
    () => empty,
    (bytes) => bytes,
    empty,
    metadata,
    { deadline: Date.now() + 10_000 },
    (error) => answered(error ? codeNames[error.code] : "OK"),
  );
}

function finish(start, cpuStart) {
  const elapsed = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  console.log(
    JSON.stringify({
      sent,
      rate: sent / opts.duration,
      answers,
      cpu: (cpu.user + cpu.system) / 1e6 / elapsed,
    }),
  );
  client.close();
  agent.destroy();
}

if (!opts.url) {
  await new Promise((resolve, reject) =>
    client.waitForReady(Date.now() + 10_000, (error) => (error ? reject(error) : resolve())),
  );
}
const start = performance.now();
const cpuStart = process.cpuUsage();
const timer = setInterval(() => {
  const elapsed = (performance.now() - start) / 1000;
  if (elapsed >= opts.duration) {
    clearInterval(timer);
    const settled = Date.now() + 10_000;
    const wait = setInterval(() => {
      if (pending === 0 || Date.now() > settled) {
        clearInterval(wait);
        finish(start, cpuStart);
      }
    }, 10);
    return;
  }
  const due = Math.floor(elapsed * opts.rate) + 1;
  while (sent < due) send();
}, 2);
