#!/usr/bin/env python3
"""Hugging Face baseline for scripts/bench_generate: transformers' GPT2LMHeadModel of the same
gpt2_124m shape (12 layers, 768 wide, 12 heads, 50304-row LM head), fp32, greedy generate with
its KV cache, prompt of PROMPT tokens, NEW new tokens, at each batch size. Prints one JSON line per
batch with the same fields as `megatron-engine generate --timings`.

    python3 scripts/bench_generate_hf.py [--device cuda] [--prompt-tokens 128] [--new-tokens 64]
                                         [--batches "1 32"]
"""
import argparse
import json
import time

import torch
from transformers import GPT2Config, GPT2LMHeadModel


def timed_generate(model, ids, new_tokens):
    if ids.is_cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=new_tokens,
                   min_new_tokens=new_tokens, do_sample=False, use_cache=True, pad_token_id=0)
    if ids.is_cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--prompt-tokens", type=int, default=128)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--batches", default="1 32")
    args = parser.parse_args()
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=50304, n_positions=1024, n_embd=768, n_layer=12, n_head=12)
    model = GPT2LMHeadModel(config).to(args.device).eval()
    with torch.no_grad():
        for batch in (int(b) for b in args.batches.split()):
            ids = torch.randint(0, 50257, (batch, args.prompt_tokens), device=args.device)
            timed_generate(model, ids, 2)  # warm-up (kernels, allocator)
            first = timed_generate(model, ids, 1)
            full = timed_generate(model, ids, args.new_tokens)
            decode_tokens = batch * (args.new_tokens - 1)
            print(json.dumps({
                "engine": "transformers", "batch": batch, "prompt_tokens": batch * args.prompt_tokens,
                "time_to_first_token_s": round(first, 4),
                "prefill_tokens_per_s": round(batch * args.prompt_tokens / first, 1),
                "decode_steps": args.new_tokens - 1, "decode_tokens": decode_tokens,
                "decode_tokens_per_s": round(decode_tokens / (full - first), 1)}))


if __name__ == "__main__":
    main()
