#!/usr/bin/env node
// ONNX Runtime's CPU library timing the same ViT msnlens-bench times, as a user who picked the
// usual inference runtime would run it: intra-op threads as the job says, graph optimisation
// "all", the graph exported without attention outputs (its fastest).
//
// msnlens-bench starts it with a JSON job on stdin:
//   {"threads": 2, "cases": [{"name", "onnx", "inputs", "output", "warmup", "iters"}]}
// `inputs` is a safetensors file holding float32 "pixel_values"; `output` gets the
// last_hidden_state ORT computed (safetensors), for a parity check. One JSON line per case on
// stdout: {"name", "median_ms", "p95_ms", "ort_version"}.
'use strict';

const fs = require('fs');
const ort = require('onnxruntime-node');

function readSafetensors(path) {
  const bytes = fs.readFileSync(path);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
  const tensors = {};
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (t.dtype !== 'F32') throw new Error(`${path}: ${name} is ${t.dtype}, not F32`);
    const [begin, end] = t.data_offsets;
    const data = bytes.subarray(8 + headerLength + begin, 8 + headerLength + end);
    // A copy: the slice of the file need not be 4-byte aligned.
    tensors[name] = { shape: t.shape, data: new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length)) };
  }
  return tensors;
}

function writeSafetensors(path, name, shape, data) {
  let header = JSON.stringify({ [name]: { dtype: 'F32', shape, data_offsets: [0, data.byteLength] } });
  header += ' '.repeat((8 - (header.length % 8)) % 8);  // data starts 8-byte aligned
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(header.length));
  fs.writeFileSync(path, Buffer.concat([length, Buffer.from(header), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

function percentile(sorted, q) { return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]; }

async function timeCase(job, c) {
  const session = await ort.InferenceSession.create(c.onnx, {
    intraOpNumThreads: job.threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
  });
  const pixels = readSafetensors(c.inputs).pixel_values;
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', pixels.data, pixels.shape) };
  let out;
  for (let i = 0; i < c.warmup; ++i) await session.run(feeds);
  const ms = [];
  for (let i = 0; i < c.iters; ++i) {
    const start = process.hrtime.bigint();
    out = await session.run(feeds);
    ms.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  const hidden = out[session.outputNames[0]];
  writeSafetensors(c.output, 'last_hidden_state', hidden.dims, hidden.data);
  await session.release();
  ms.sort((a, b) => a - b);
  return { name: c.name, median_ms: percentile(ms, 0.5), p95_ms: percentile(ms, 0.95), ort_version: ort.env.versions.common };
}

async function main() {
  const job = JSON.parse(fs.readFileSync(0, 'utf8'));
  for (const c of job.cases) console.log(JSON.stringify(await timeCase(job, c)));
}

main().catch((e) => { console.error(`ort_reference: ${e.message}`); process.exit(1); });
