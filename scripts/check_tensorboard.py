#!/usr/bin/env python3
# Trains a tiny model with logging.tensorboard_dir and logging.metrics_file, then reads the event
# file with TensorBoard's own reader (PyPI `tensorboard`) and checks every scalar equals the
# metrics JSONL of the same run (as float32, the type TensorBoard stores) and the recipe text.
#   scripts/check_tensorboard.py --engine build/megatron-engine
# Exits 1 on any mismatch or when the tensorboard package is missing (the CTest runs it with the
# Python of build/tensorboard-venv, which scripts/run_tests makes).
import argparse
import glob
import json
import os
import struct
import subprocess
import sys
import tempfile

RECIPE = """model:
  num_layers: 2
  hidden_size: 32
  num_attention_heads: 2
  seq_length: 32
  max_position_embeddings: 32
data:
  mock_data: true
tokenizer:
  vocab_size: 64
train:
  micro_batch_size: 2
  global_batch_size: 4
  train_iters: 12
  eval_interval: 6
  eval_iters: 2
optimizer:
  lr: 0.001
logging:
  log_interval: 3
  metrics_file: {dir}/metrics.jsonl
  tensorboard_dir: {dir}/tb
  log_timers_to_tensorboard: true
"""

# TensorBoard tag -> metrics JSONL key (train lines).
TRAIN_TAGS = {
    "lm loss": "loss",
    "learning-rate": "lr",
    "grad-norm": "grad_norm",
    "batch-size": "batch_size",
    "skipped-iterations": "skipped_iterations",
    "tokens-per-second": "tokens_per_second",
    "mem-allocated-bytes": "memory_allocated_bytes",
    "mem-max-allocated-bytes": "memory_peak_bytes",
    "mem-reserved-bytes": "memory_reserved_bytes",
}
TIMERS = ["batch-generator", "forward-compute", "backward-compute", "all-grads-sync", "optimizer"]


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def fail(message):
    print(f"check_tensorboard: FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def read_records(path, pywrap_tensorflow):
    # The stub reader checks both masked CRC-32Cs of every record and raises DataLossError.
    reader = pywrap_tensorflow.PyRecordReader_New(path.encode())
    count = 0
    while True:
        try:
            reader.GetNext()
        except Exception as e:  # OutOfRangeError ends the file; anything else is a failure
            if type(e).__name__ == "OutOfRangeError":
                return count
            fail(f"{path}: record {count}: {e}")
        count += 1


def main():
    parser = argparse.ArgumentParser(
        description="Check that TensorBoard reads our event files with the metrics file's values.")
    parser.add_argument("--engine", required=True, help="the megatron-engine binary")
    args = parser.parse_args()
    try:
        from tensorboard.backend.event_processing import event_accumulator
        from tensorboard.compat.tensorflow_stub import pywrap_tensorflow
    except ImportError:
        fail("the tensorboard package is not installed for this Python (pip install tensorboard)")

    with tempfile.TemporaryDirectory() as tmp:
        recipe = os.path.join(tmp, "tb.yaml")
        with open(recipe, "w") as f:
            f.write(RECIPE.format(dir=tmp))
        run = subprocess.run([args.engine, "--recipe", recipe], capture_output=True, text=True)
        if run.returncode != 0:
            fail(f"training exited {run.returncode}:\n{run.stdout}{run.stderr}")
        files = glob.glob(os.path.join(tmp, "tb", "events.out.tfevents.*"))
        if len(files) != 1:
            fail(f"expected one event file, found {files}")
        records = read_records(files[0], pywrap_tensorflow)

        with open(os.path.join(tmp, "metrics.jsonl")) as f:
            lines = [json.loads(line) for line in f if line.strip()]
        train = [l for l in lines if "loss" in l]
        valid = [l for l in lines if "valid_loss" in l]

        acc = event_accumulator.EventAccumulator(
            os.path.join(tmp, "tb"), size_guidance={event_accumulator.SCALARS: 0,
                                                    event_accumulator.TENSORS: 0})
        acc.Reload()
        checked = 0

        def expect(tag, rows, value_of):
            nonlocal checked
            events = acc.Scalars(tag)
            got = [(e.step, e.value) for e in events]
            want = [(r["iteration"], f32(value_of(r))) for r in rows]
            if got != want:
                fail(f"tag '{tag}': TensorBoard has {got}, the metrics file {want}")
            checked += len(got)

        for tag, key in TRAIN_TAGS.items():
            expect(tag, train, lambda r, key=key: r[key])
        expect("iteration-time", train, lambda r: r["ms_per_iteration"] / 1000.0)
        for name in TIMERS:
            expect(name + "-time", train, lambda r, name=name: r["timers_ms"][name])
        expect("lm loss validation", valid, lambda r: r["valid_loss"])
        expect("lm loss validation ppl", valid, lambda r: r["valid_ppl"])
        if len(train) != 4 or len(valid) != 2:
            fail(f"expected 4 train and 2 validation lines, got {len(train)} and {len(valid)}")

        text = acc.Tensors("recipe")
        if len(text) != 1:
            fail(f"expected one recipe text summary, got {len(text)}")
        recipe_text = text[0].tensor_proto.string_val[0].decode()
        for needle in ("hidden_size: 32", "train_iters: 12", "tensorboard_dir: "):
            if needle not in recipe_text:
                fail(f"the recipe text lacks '{needle}':\n{recipe_text}")
        # file_version + 1 text + per log line 9 train tags, iteration-time, 5 timers + 2 valid each.
        expected_records = 1 + 1 + len(train) * (len(TRAIN_TAGS) + 1 + len(TIMERS)) + 2 * len(valid)
        if records != expected_records:
            fail(f"the event file holds {records} records, expected {expected_records}")
    print(f"check_tensorboard: OK: {checked} scalars equal the metrics file; "
          f"{records} records passed TensorBoard's CRC checks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
