#!/usr/bin/env python3
"""PyTorch baseline for the GPU benchmarks: a nanoGPT-style GPT-2 (pre-LN, tied embeddings, GeLU
tanh, SDPA flash attention) trained on random tokens with bf16 autocast, torch.compile and fused
AdamW, so megatron-engine's numbers are compared on the same GPU in the same device call.

    python3 scripts/bench_gpu_torch.py --model 124m --micro-batch 32 [--steps 30]

Prints tokens/s (median of steps 10..steps), ms/step, MFU (6 N + attention FLOPs per token over
989 TFLOP/s dense bf16, as llm.c counts) and peak memory.
"""
import argparse
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

SHAPES = {  # layers, hidden, heads (GPT-2 family), vocab 50257 padded to 50304, seq 1024
    "124m": (12, 768, 12),
    "350m": (24, 1024, 16),
    "774m": (36, 1280, 20),
    "1p5b": (48, 1600, 25),
}
VOCAB, SEQ, PEAK_FLOPS = 50304, 1024, 989e12


class Block(nn.Module):
    def __init__(self, h, heads):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(h), nn.LayerNorm(h)
        self.qkv, self.proj = nn.Linear(h, 3 * h), nn.Linear(h, h)
        self.fc1, self.fc2 = nn.Linear(h, 4 * h), nn.Linear(4 * h, h)

    def forward(self, x):
        b, t, h = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(h, dim=2)
        q, k, v = (z.view(b, t, self.heads, h // self.heads).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, h))
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, layers, h, heads):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(VOCAB, h), nn.Embedding(SEQ, h)
        self.blocks = nn.ModuleList(Block(h, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(h)
        for name, p in self.named_parameters():  # GPT-2 / Megatron init: N(0, 0.02), scaled outputs
            if p.dim() == 2:
                std = 0.02 / math.sqrt(2 * layers) if name.endswith(("proj.weight", "fc2.weight")) else 0.02
                nn.init.normal_(p, 0.0, std)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def forward(self, idx, targets):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1], device=idx.device))
        for block in self.blocks:
            x = block(x)
        logits = self.ln_f(x) @ self.wte.weight.t()
        return F.cross_entropy(logits.float().view(-1, VOCAB), targets.reshape(-1))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", choices=SHAPES, default="124m")
    parser.add_argument("--micro-batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    layers, h, heads = SHAPES[args.model]
    torch.manual_seed(0)
    torch.backends.cuda.matmul.allow_tf32 = True
    model = GPT(layers, h, heads).cuda()
    n_params = sum(p.numel() for p in model.parameters())
    optimizer = torch.optim.AdamW(model.parameters(), lr=6e-4, weight_decay=0.1, fused=True)
    step_fn = torch.compile(model)
    b = args.micro_batch
    tokens = torch.randint(0, 50257, (b, SEQ + 1), device="cuda")
    times = []
    for step in range(args.steps + 1):
        torch.cuda.synchronize()
        start = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = step_fn(tokens[:, :-1], tokens[:, 1:])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    seconds = statistics.median(times[10:])
    tokens_per_s = b * SEQ / seconds
    flops_per_token = 6 * n_params + 6 * layers * h * SEQ  # llm.c: 6N + 6 L h T (causal halves 12)
    mfu = tokens_per_s * flops_per_token / PEAK_FLOPS
    print(f"pytorch {args.model} B={b}: {tokens_per_s:,.0f} tokens/s, {1000 * seconds:.1f} ms/step, "
          f"MFU {100 * mfu:.1f}%, peak {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB, "
          f"params {n_params / 1e6:.1f} M, final loss {loss.item():.3f} "
          f"(ln V = {math.log(50257):.3f})")


if __name__ == "__main__":
    main()
