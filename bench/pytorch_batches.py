#!/usr/bin/env python3
"""PyTorch side of bench/vs-pytorch: the classroom BiLSTM of
../shared/bench/pytorch_seed.py (embedding -> nn.LSTM(batch_first, bidirectional)
-> Linear -> log_softmax, masked mean NLL, Adam 1e-3), timed on the batches that
lstm-ner ran, read from a JSON file the TypeScript bench writes:

  {"vocab": V, "dim": D, "hidden": H, "outputs": C, "threads": 2, "infer_reps": 3,
   "train": {"plain": [batch...], "bucket": [batch...]},
   "infer": {"sorted32": [batch...], "sorted256": [...], "input32": [...], "input256": [...]}}

with batch = [[ids of sentence 1], [ids of sentence 2], ...] (labels travel as a
parallel "labels" list for training batches). The embedding is frozen and random
(speed does not depend on its values). Imports nothing but torch/numpy.
Prints one JSON object per line.
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


def main():
    spec = json.load(open(sys.argv[1]))
    torch.set_num_threads(spec["threads"])
    torch.manual_seed(1)
    pad = spec["vocab"] - 1
    model = RNN(spec["vocab"], spec["dim"], spec["outputs"], spec["hidden"])
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    print(json.dumps({"side": "pytorch", "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
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
        print(json.dumps({"side": "pytorch", "bench": "train", "batching": name, "tokens": ntok,
                          "padded_positions": sum(int(x.numel()) for x, _ in data),
                          "seconds": round(dt, 3), "tokens_per_s": round(ntok / dt)}), flush=True)
    print(json.dumps({"side": "pytorch", "bench": "memory", "after": "training",
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}), flush=True)
    model.eval()
    with torch.no_grad():
        for name, batches in spec["infer"].items():
            data = [to_tensor(b, pad, None) for b in batches]
            ntok = sum(len(s) for b in batches for s in b)
            model(data[0])  # warm-up
            times = []
            for _ in range(spec.get("infer_reps", 3)):
                t0 = time.perf_counter()
                for x in data:
                    model(x).view(x.shape[0], x.shape[1], -1).argmax(-1)
                times.append(time.perf_counter() - t0)
            dt = sorted(times)[len(times) // 2]
            print(json.dumps({"side": "pytorch", "bench": "inference", "order": name, "tokens": ntok,
                              "seconds": round(dt, 3), "tokens_per_s": round(ntok / dt)}), flush=True)
    # The machine's GEMM figure: one LSTM step's product, 32x306 by 306x1024, on OpenBLAS.
    a, b = torch.randn(32, 306), torch.randn(306, 1024)
    for _ in range(50):
        torch.mm(a, b)
    reps, t0 = 2000, time.perf_counter()
    for _ in range(reps):
        torch.mm(a, b)
    dt = time.perf_counter() - t0
    print(json.dumps({"side": "pytorch", "bench": "gemm", "shape": "32x306x1024", "gflops": round(2 * 32 * 306 * 1024 * reps / dt / 1e9, 1)}), flush=True)


if __name__ == "__main__":
    main()
