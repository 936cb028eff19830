// Pipeline exchanges under NCCL's rules: a send completes only when its receive is posted (no
// buffering), an exchange posts all its sends and receives at once, and messages between two
// ranks match in the order posted whatever their tag. Simulating every rank of every layout with
// those rules proves the schedule cannot deadlock on NCCL and that FIFO matching hands each
// receive the message MPI's tag matching would (same tag, same micro-batch, the right model
// stage, the same tensor of a boundary that several tensors cross); hand-derived exchanges for
// pp 2 pin the grouping. Simpler groupings fail this check:
// pairing a send only with the next action's receive deadlocks every interleaved layout with
// backward passes.
#include <doctest/doctest.h>

#include <cstddef>
#include <optional>
#include <vector>

#include "engine/distributed/pipeline_transfers.h"

using namespace me;

namespace {

// One half of a transfer: a message leaving for or expected from `peer`. `microbatch` and
// `model_stage` name the action that consumes the message.
struct Half {
  bool send = false;
  int64_t peer = 0;
  int tag = 0;
  int64_t microbatch = 0;
  int64_t model_stage = 0;
  int64_t tensor = 0;
  bool done = false;
};

// Tensors crossing the boundary after model stage s: boundary[s] (all 1 when empty).
using Boundaries = std::vector<int64_t>;

int64_t crossing(const Boundaries& boundary, int64_t s) {
  return boundary.empty() ? 1 : boundary.at(static_cast<std::size_t>(s));
}

// Rank r's chunk tensors: chunk c is model stage c * pp + r.
ChunkTensors chunk_tensors(const Boundaries& boundary, int64_t pp, int64_t r, int64_t vpp) {
  ChunkTensors t;
  for (int64_t c = 0; c < vpp; ++c) {
    const int64_t stage = c * pp + r;
    t.inputs.push_back(stage > 0 ? crossing(boundary, stage - 1) : 0);
    t.outputs.push_back(stage < vpp * pp - 1 ? crossing(boundary, stage) : 0);
  }
  return t;
}

using Op = std::vector<Half>;  // posted together; complete when every half is

// The blocking operations rank `r` issues, in order: one per exchange.
std::vector<Op> rank_ops(int64_t pp, int64_t r, int64_t vpp, int64_t m, bool forward_only,
                         const Boundaries& boundary) {
  const auto order = pipeline_order(pp, r, vpp, m, forward_only);
  std::vector<Op> ops;
  std::size_t previous = 0;
  for (const PipelineExchange& x : pipeline_exchanges(order, pp, r, vpp, m, forward_only,
                                                      chunk_tensors(boundary, pp, r, vpp))) {
    CHECK(x.before_action >= previous);  // posted in order
    previous = x.before_action;
    Op op;
    for (const PipelineMessage& s : x.sends) {
      const PipelineAction& a = order.at(s.action);
      CHECK(s.action < x.before_action);  // the output exists
      const int64_t stage = a.chunk * pp + r;
      op.push_back(
          {true, s.peer, s.tag, a.microbatch, a.forward() ? stage + 1 : stage - 1, s.tensor});
    }
    for (const PipelineMessage& in : x.receives) {
      const PipelineAction& a = order.at(in.action);
      CHECK(in.action >= x.before_action);  // the input arrives before it is needed
      op.push_back({false, in.peer, in.tag, a.microbatch, a.chunk * pp + r, in.tensor});
    }
    ops.push_back(op);
  }
  return ops;
}

// True when every rank finishes; every matched pair must agree on tag and destination action.
bool runs_to_completion(int64_t pp, int64_t vpp, int64_t m, bool forward_only,
                        const Boundaries& boundary = {}) {
  std::vector<std::vector<Op>> ops;
  for (int64_t r = 0; r < pp; ++r) ops.push_back(rank_ops(pp, r, vpp, m, forward_only, boundary));
  std::vector<std::size_t> at(static_cast<std::size_t>(pp), 0);
  auto current = [&](int64_t r) -> Op* {
    auto& list = ops[static_cast<std::size_t>(r)];
    const std::size_t i = at[static_cast<std::size_t>(r)];
    return i < list.size() ? &list[i] : nullptr;
  };
  for (bool progress = true; progress;) {
    progress = false;
    for (int64_t r = 0; r < pp; ++r) {
      Op* op = current(r);
      if (!op) continue;
      for (Half& out : *op) {
        if (!out.send || out.done) continue;
        Op* peer_op = current(out.peer);
        if (!peer_op) continue;
        for (Half& in : *peer_op) {
          if (in.send || in.done || in.peer != r) continue;
          CHECK(in.tag == out.tag);
          CHECK(in.microbatch == out.microbatch);
          CHECK(in.model_stage == out.model_stage);
          CHECK(in.tensor == out.tensor);
          in.done = out.done = true;
          progress = true;
          break;
        }
      }
    }
    for (int64_t r = 0; r < pp; ++r) {
      Op* op = current(r);
      bool complete = op != nullptr;
      for (const Half& h : op ? *op : Op{}) complete = complete && h.done;
      if (complete) {
        ++at[static_cast<std::size_t>(r)];
        progress = true;
      }
    }
  }
  for (int64_t r = 0; r < pp; ++r) {
    if (current(r)) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("pp 2 exchanges follow Megatron's 1F1B grouping") {
  // Rank 0 of pp 2, 1F1B over 3 micro-batches: F0 | F1 B0 | F2 B1 | B2 (one warm-up forward,
  // two steady pairs, one cool-down backward). After each step its outputs leave with the next
  // step's inputs: [F0 out, B0 in], [F1 out, B1 in], [F2 out, B2 in]; stage 0 takes no forward
  // input and its backwards send nothing.
  const auto order = pipeline_order(2, 0, 1, 3, false);
  const auto x = pipeline_exchanges(order, 2, 0, 1, 3, false, ChunkTensors::uniform(1, 1));
  REQUIRE(x.size() == 3);
  for (std::size_t k = 0; k < 3; ++k) {
    CAPTURE(k);
    REQUIRE(x[k].sends.size() == 1);
    REQUIRE(x[k].receives.size() == 1);
    CHECK(order[x[k].sends[0].action] ==
          PipelineAction{PipelineAction::Kind::kForward, static_cast<int64_t>(k), 0});
    CHECK(order[x[k].receives[0].action] ==
          PipelineAction{PipelineAction::Kind::kBackward, static_cast<int64_t>(k), 0});
    CHECK((x[k].sends[0].peer == 1 && x[k].sends[0].tag == 0));
    CHECK((x[k].receives[0].peer == 1 && x[k].receives[0].tag == 1));
  }
  CHECK(x[0].before_action == 1);  // after F0, before the step F1 B0
  CHECK(x[1].before_action == 3);
  CHECK(x[2].before_action == 5);  // before B2
  // Rank 1 (the last stage): F0 B0 | F1 B1 | F2 B2 all steady; it receives each forward's
  // input with the previous backward's output.
  const auto last_order = pipeline_order(2, 1, 1, 3, false);
  const auto last = pipeline_exchanges(last_order, 2, 1, 1, 3, false, ChunkTensors::uniform(1, 1));
  REQUIRE(last.size() == 4);
  CHECK((last[0].sends.empty() && last[0].receives.size() == 1 && last[0].before_action == 0));
  CHECK((last[1].sends.size() == 1 && last[1].receives.size() == 1));
  CHECK((last[3].sends.size() == 1 && last[3].receives.empty()));
  CHECK(last[3].before_action == last_order.size());
}

TEST_CASE("every pipeline layout runs to completion with unbuffered sends matched in order") {
  for (int64_t pp : {2, 3, 4}) {
    for (int64_t vpp : {1, 2, 3}) {
      for (int64_t m = 1; m <= 12; ++m) {
        if (vpp > 1 && m % pp != 0) continue;  // the recipe rules refuse these
        for (bool forward_only : {false, true}) {
          CAPTURE(pp);
          CAPTURE(vpp);
          CAPTURE(m);
          CAPTURE(forward_only);
          CHECK(runs_to_completion(pp, vpp, m, forward_only));
        }
      }
    }
  }
}

TEST_CASE("several tensors per boundary run to completion, each met by its own receive") {
  // 1 to 3 tensors cross each boundary (T5's decoder stages send the encoder output beside the
  // hidden state), differently at each boundary.
  for (int64_t pp : {2, 3, 4}) {
    for (int64_t vpp : {1, 2, 3}) {
      Boundaries boundary;
      for (int64_t s = 0; s + 1 < pp * vpp; ++s) boundary.push_back(1 + (s * 7 + pp) % 3);
      for (int64_t m = 1; m <= 8; ++m) {
        if (vpp > 1 && m % pp != 0) continue;
        for (bool forward_only : {false, true}) {
          CAPTURE(pp);
          CAPTURE(vpp);
          CAPTURE(m);
          CAPTURE(forward_only);
          CHECK(runs_to_completion(pp, vpp, m, forward_only, boundary));
        }
      }
    }
  }
  // Each of a boundary's tensors travels as its own message. Rank 0 of pp 2 with one
  // micro-batch, F0 then B0: one exchange sends F0's two outputs (tags 0 and 2) and receives
  // their gradients for B0 (tags 1 and 3).
  const auto order = pipeline_order(2, 0, 1, 1, false);
  const auto x = pipeline_exchanges(order, 2, 0, 1, 1, false, ChunkTensors::uniform(1, 2));
  REQUIRE(x.size() == 1);
  REQUIRE(x[0].sends.size() == 2);
  CHECK((x[0].sends[0].tag == 0 && x[0].sends[1].tag == 2));
  CHECK((x[0].sends[0].tensor == 0 && x[0].sends[1].tensor == 1));
  REQUIRE(x[0].receives.size() == 2);
  CHECK((x[0].receives[0].tag == 1 && x[0].receives[1].tag == 3));
}
