#!/usr/bin/env python3
"""PyTorch side of bench/vs-pytorch: the classroom BiLSTM of
../shared/bench/pytorch_seed.py (embedding -> nn.LSTM(batch_first, bidirectional)
-> Linear -> log_softmax, masked mean NLL, Adam 1e-3), timed on the batches that
lstm-ner ran, read from a JSON file the TypeScript bench writes:

  {"vocab": V, "dim": D, "hidden": H, "outputs": C, "threads": [1, 2], "infer_reps": 3,
   "quantized": true,
   "train": {"plain": [batch...], "bucket": [batch...]},
   "infer": {"sorted32": [batch...], "sorted256": [...], "input32": [...], "input256": [...]}}

with batch = [[ids of sentence 1], [ids of sentence 2], ...] (labels travel as a
parallel "labels" list for training batches). Everything runs once per thread
count in "threads" (torch.set_num_threads), from a freshly seeded model; with
"quantized", the inference sets also run on
torch.quantization.quantize_dynamic(model, {LSTM, Linear}, qint8). The
embedding is frozen and random (speed does not depend on its values).

  pytorch_batches.py SPEC.json            # the above
  pytorch_batches.py --gemm SHAPES.json   # GFLOP/s of torch.matmul, 1 thread, per shape:
                                          # [{"ta": false, "tb": true, "m": 32, "n": 1024, "k": 306}, ...]

Imports nothing but torch/numpy. Prints one JSON object per line.
"""
import json, resource, sys, time

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F


class RNN(nn.Module):
    def __init__(self, vocab, dim, output_dim, hidden):
        super().__init__()
        w = torch.from_numpy(np.random.default_rng(0).normal(0, 0.4, (vocab, dim)).astype(np.float32))
        self.embedding = nn.Embedding.from_pretrained(w, freeze=True)
        self.lstm = nn.LSTM(dim, hidden, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(hidden * 2, output_dim)

    def forward(self, x):
        h, _ = self.lstm(self.embedding(x))
        return F.log_softmax(self.fc(h.reshape(-1, h.shape[2])), dim=1)


def to_tensor(sents, pad, fill):
    n, L = len(sents), max(len(s) for s in sents)
    x = np.full((n, L), fill if fill is not None else pad, np.int64)
    for i, s in enumerate(sents):
        x[i, : len(s)] = s
    return torch.from_numpy(x)


def run_set(spec, threads, pad):
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = RNN(spec["vocab"], spec["dim"], spec["outputs"], spec["hidden"])
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    tag = {"side": "pytorch", "threads": torch.get_num_threads()}
    print(json.dumps({**tag, "torch": torch.__version__, "quantized_engine": torch.backends.quantized.engine}), flush=True)
    for name, batches in spec["train"].items():
        data = [(to_tensor(b["ids"], pad, None), to_tensor(b["labels"], pad, -1)) for b in batches]
        for x, y in data[:3]:  # warm-up
            out = model(x); loss = -out[(y.view(-1) >= 0), y.view(-1)[y.view(-1) >= 0]].mean()
            opt.zero_grad(); loss.backward()
        ntok, t0 = 0, time.perf_counter()
        for x, y in data:
            labels = y.view(-1); mask = labels >= 0
            loss = -model(x)[mask, labels[mask]].mean()
            opt.zero_grad(); loss.backward(); opt.step()
            ntok += int(mask.sum())
        dt = time.perf_counter() - t0
        print(json.dumps({**tag, "bench": "train", "batching": name, "tokens": ntok,
                          "padded_positions": sum(int(x.numel()) for x, _ in data),
                          "seconds": round(dt, 3), "tokens_per_s": round(ntok / dt)}), flush=True)
    print(json.dumps({**tag, "bench": "memory", "after": "training",
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}), flush=True)
    model.eval()
    models = [("fp32", model)]
    if spec.get("quantized", True):
        models.append(("qint8", torch.quantization.quantize_dynamic(model, {nn.LSTM, nn.Linear}, dtype=torch.qint8)))
    with torch.no_grad():
        for kind, m in models:
            for name, batches in spec["infer"].items():
                data = [to_tensor(b, pad, None) for b in batches]
                ntok = sum(len(s) for b in batches for s in b)
                m(data[0])  # warm-up
                times = []
                for _ in range(spec.get("infer_reps", 3)):
                    t0 = time.perf_counter()
                    for x in data:
                        m(x).view(x.shape[0], x.shape[1], -1).argmax(-1)
                    times.append(time.perf_counter() - t0)
                dt = sorted(times)[len(times) // 2]
                print(json.dumps({**tag, "bench": "inference", "model": kind, "order": name, "tokens": ntok,
                                  "seconds": round(dt, 3), "tokens_per_s": round(ntok / dt)}), flush=True)
    # The machine's GEMM figure: one LSTM step's product, 32x306 by 306x1024, on OpenBLAS.
    print(json.dumps({**tag, "bench": "gemm", "shape": "32x306x1024", "gflops": gemm_gflops(False, False, 32, 1024, 306)}), flush=True)


def gemm_gflops(ta, tb, m, n, k, seconds=0.3):
    """GFLOP/s of op(A)·op(B) (A stored k×m when ta, B stored n×k when tb), best of short timed runs.

    Timed in CPU time of the process (torch runs 1 thread here), as the kernel
    lab times the WASM side: the same as wall time on an idle machine, not
    inflated by waiting for a core on a busy one."""
    a = torch.randn(k, m).t() if ta else torch.randn(m, k)
    b = torch.randn(n, k).t() if tb else torch.randn(k, n)
    for _ in range(20):
        torch.matmul(a, b)
    best, end = float("inf"), time.perf_counter() + seconds
    reps = max(1, int(2e7 / (2 * m * n * k)))
    while True:
        t0 = time.process_time()
        for _ in range(reps):
            torch.matmul(a, b)
        best = min(best, max(time.process_time() - t0, 1e-6) / reps)
        if time.perf_counter() > end:
            break
    return round(2 * m * n * k / best / 1e9, 1)


def main():
    if sys.argv[1] == "--gemm":
        torch.set_num_threads(1)
        for s in json.load(open(sys.argv[2])):
            print(json.dumps({"side": "pytorch", "bench": "gemm", "threads": 1, **s,
                              "gflops": gemm_gflops(s["ta"], s["tb"], s["m"], s["n"], s["k"])}), flush=True)
        return
    spec = json.load(open(sys.argv[1]))
    threads = spec["threads"] if isinstance(spec["threads"], list) else [spec["threads"]]
    for n in threads:
        run_set(spec, n, spec["vocab"] - 1)


if __name__ == "__main__":
    main()
