// Drive the official npm mem0ai client against a server; the pytest suite talks to this process.
//
// Reads jobs from stdin, one JSON object per line:
//
//   {"apiKey": "...", "host": "http://...", "calls": [
//     {"method": "add", "args": ["I like tea", {"user_id": "u", "infer": false}]},
//     {"method": "get", "args": [{"$ref": "0.results.0.id"}]}
//   ]}
//
// For each job it builds `new MemoryClient({apiKey, host})`, awaits the calls in order and writes
// one line `@@RESULT {"results": [...]}` to stdout. Each result is what the method resolved to
// (undefined becomes null), or {"error": <error name>, "message": <error message>}.
// `{"$ref": "i.key.0"}` anywhere in args is replaced by that path into the result of call i.
import readline from "node:readline";

import MemoryClient from "mem0ai";

const MARKER = "@@RESULT ";

function resolve(value, results) {
  if (Array.isArray(value)) return value.map((item) => resolve(item, results));
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === "$ref") {
      const [index, ...path] = String(value.$ref).split(".");
      return path.reduce((target, step) => target[step], results[Number(index)]);
    }
    return Object.fromEntries(keys.map((key) => [key, resolve(value[key], results)]));
  }
  return value;
}

function errorOf(error) {
  return { error: error?.name ?? "Error", message: error?.message ?? String(error) };
}

async function runJob(job) {
  let client;
  try {
    client = new MemoryClient({ apiKey: job.apiKey, host: job.host });
  } catch (error) {
    return { client: errorOf(error), results: [] };
  }
  const results = [];
  for (const call of job.calls ?? []) {
    try {
      const args = resolve(call.args ?? [], results);
      const value = await client[call.method](...args);
      results.push(value === undefined ? null : value);
    } catch (error) {
      results.push(errorOf(error));
    }
  }
  return { client: null, results };
}

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  const reply = await runJob(JSON.parse(line));
  process.stdout.write(MARKER + JSON.stringify(reply) + "\n");
}
