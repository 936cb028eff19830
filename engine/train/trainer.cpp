// Trainer: builds every part by registered name from the recipe and runs the loop.
#include "engine/train/trainer.h"

#include <spdlog/spdlog.h>

#include <cmath>

#include "datasets/make_dataset.h"
#include "engine/core/allocator.h"
#include "engine/parallel/fault_injection.h"
#include "engine/parallel/nccl_communicator.h"
#include "engine/plan/plan.h"
#include "engine/recipe/sequence_parallel_rules.h"
#include "engine/train/banner.h"
#include "engine/train/exit_signal.h"
#include "engine/train/nan_guard.h"
#include "engine/train/straggler_report.h"
#include "kernels/determinism.h"
#include "kernels/op_profile.h"

namespace me {
namespace {

Device device_from_recipe(const Recipe& recipe, const Topology& topology) {
  if (recipe.train.device == "cpu") return Device::cpu();
  if (!cuda_available()) {
    throw Error("train.device is cuda but no CUDA device is available to this build or machine",
                "train.device");
  }
  return rank_device(topology.world_size, recipe.train.ranks_per_device);
}

// calculate_per_token_loss divides every gradient by the step's count of the first loss: right
// only when every loss is a token mean.
void check_per_token_losses(const Recipe& recipe, const Model& model) {
  if (!recipe.train.calculate_per_token_loss) return;
  for (const LossSpec& spec : model.losses()) {
    if (spec.normalization != LossNormalization::kPerToken) {
      throw Error(fmt::format("model '{}' adds the loss '{}', which is not a per-token mean, so "
                              "gradients cannot be normalised by the step's token count",
                              recipe.model.type, spec.name),
                  "train.calculate_per_token_loss");
    }
  }
}

int64_t valid_samples_needed(const Recipe& r) {
  const int64_t iters = *r.train.train_iters;
  const int64_t evals = r.train.eval_interval ? iters / *r.train.eval_interval + 1 : 1;
  return evals * r.train.eval_iters * r.derived.global_batch_size;
}

// The model's vocabulary padding: a multiple of make_vocab_size_divisible_by per tensor-parallel
// rank (megatron-facts 2.1).
int64_t vocab_pad_multiple(const Recipe& r) {
  return r.model.make_vocab_size_divisible_by * r.parallel.tensor_model_parallel_size;
}

}  // namespace

Trainer::Trainer(Recipe recipe, Communicator& comm)
    : recipe_(std::move(recipe)),
      comm_(comm),
      topology_(Topology::build(recipe_, comm.size(), comm.rank())),
      groups_(make_parallel_groups(comm_, topology_)),
      stage_(PipelineStage::of(PipelineLayout::of(recipe_), topology_.pp_rank)),
      device_(device_from_recipe(recipe_, topology_)),
      device_groups_(make_device_groups(groups_, device_, recipe_.train.ranks_per_device,
                                        recipe_.parallel.distributed_timeout_minutes * 60)),
      tp_{topology_.tp_rank, topology_.tp, groups_.tensor.get(), device_groups_.tensor.get(),
          sequence_parallel_enabled(recipe_, topology_.rank == 0)},
      vocabulary_(with_exit_code(
          ExitCode::kData,
          [&] { return training_vocabulary(recipe_, vocab_pad_multiple(recipe_)); })),
      metrics_(recipe_, topology_.is_last_rank()),
      timers_(device_),
      spike_guard_(recipe_.train),
      checkpoint_writer_(recipe_.checkpoint.async_save) {
  set_deterministic_algorithms(recipe_.train.deterministic_mode);
  {
    TensorParallelScope scope(tp_);
    PipelineStageScope stage_scope(stage_);
    model_ = ModelRegistry::instance().create(recipe_.model.type, recipe_,
                                              vocabulary_.padded_vocab_size);
  }
  check_per_token_losses(recipe_, *model_);
  if (topology_.pp > 1) {
    Communicator& stages = device_groups_.pipeline ? *device_groups_.pipeline : *groups_.pipeline;
    pipeline_ = std::make_unique<PipelineSchedule>(*model_, stage_, stages, &timers_);
  }
  param_groups_ = std::make_unique<ParamGroups>(
      model_->parameters(), recipe_, device_,
      [this](const std::string& group) { return group_comms(group); });
  scheduler_ = std::make_unique<OptimizerParamScheduler>(recipe_);
  loss_scaler_ = make_loss_scaler(recipe_);
  const int64_t gbs = recipe_.derived.global_batch_size;
  const std::string dataset_type = model_->dataset_type();
  with_exit_code(ExitCode::kData, [&] {
    train_data_ = make_dataset(
        dataset_type, DatasetRequest{recipe_, Split::kTrain, *recipe_.train.train_iters * gbs});
    if (recipe_.train.eval_iters > 0) {
      valid_data_ = make_dataset(
          dataset_type, DatasetRequest{recipe_, Split::kValid, valid_samples_needed(recipe_)});
    }
  });
  // The batch contract: every tensor the model reads, as the dataset yields it.
  check_batch_contract(model_->inputs(), train_data_->fields(),
                       fmt::format("model '{}'", recipe_.model.type),
                       fmt::format("dataset '{}' (data)", dataset_type));
  const int64_t num_params = param_groups_->numel();
  spdlog::info("{}: model '{}' with {} parameters ({:.2f} M), vocabulary {} padded to {}, {}",
               topology_.describe(), recipe_.model.type, num_params, num_params / 1e6,
               vocabulary_.vocab_size, vocabulary_.padded_vocab_size, device_.str());
  if (topology_.rank == 0) {
    spdlog::info("\n{}", format_banner(recipe_, topology_, device_, num_params,
                                       plan_recipe(recipe_, vocabulary_.vocab_size),
                                       summarize_data_files(recipe_.data)));
  }
  with_exit_code(ExitCode::kCheckpoint, [&] { load_or_initialize(); });
}

ParamGroupComms Trainer::group_comms(const std::string& group) {
  if (group != kDenseGroup) {
    throw Error(fmt::format("model '{}' declares parameters of group '{}', but this engine reduces "
                            "only the '{}' group (no expert-data-parallel groups yet)",
                            recipe_.model.type, group, kDenseGroup),
                "model.type");
  }
  return {&data_comm(), &buffer_comm(), nullptr};
}

void Trainer::load_or_initialize() {
  state_.seed = recipe_.train.seed;
  state_.padded_vocab_size = vocabulary_.padded_vocab_size;
  state_.tokenizer_type = vocabulary_.tokenizer_type;
  state_.tokenizer_sha256 = vocabulary_.tokenizer_sha256;
  const auto& ckpt = recipe_.checkpoint;
  std::optional<std::string> found = ckpt.load ? find_checkpoint(*ckpt.load) : std::nullopt;
  if (ckpt.load && !found) {
    if (ckpt.exit_on_missing_checkpoint) {
      throw Error(fmt::format("no checkpoint found in {}", *ckpt.load), "checkpoint.load");
    }
    spdlog::warn("no checkpoint found in {}: initialising from scratch", *ckpt.load);
  }
  if (!found) {
    for (Parameter* p : param_groups_->parameters()) initialize_parameter(*p, recipe_.train.seed);
    param_groups_->sync_model_params();
    return;
  }
  const CheckpointManifest manifest = read_manifest(*found);
  check_model_compatible(manifest, recipe_, vocabulary_.padded_vocab_size);
  const bool load_optimizer = !ckpt.finetune && !ckpt.no_load_optim;
  if (load_optimizer && manifest.optimizer != recipe_.optimizer.optimizer) {
    throw Error(fmt::format("checkpoint holds '{}' optimizer state but the recipe uses '{}'; set "
                            "checkpoint.no_load_optim to start the optimizer afresh",
                            manifest.optimizer, recipe_.optimizer.optimizer),
                "optimizer.optimizer");
  }
  load_checkpoint(manifest, param_groups_->checkpoint_groups(load_optimizer), topology_);
  if (!ckpt.finetune) {
    state_.iteration = manifest.state.iteration;
    state_.consumed_train_samples = manifest.state.consumed_train_samples;
    state_.consumed_valid_samples = manifest.state.consumed_valid_samples;
    state_.optimizer_steps = manifest.state.optimizer_steps;
    scheduler_->set_num_steps(manifest.state.scheduler_num_steps);
    if (!ckpt.no_load_rng) state_.seed = manifest.state.seed;
    if (loss_scaler_ && manifest.state.loss_scaler) {
      loss_scaler_->set_state(*manifest.state.loss_scaler);
    }
  }
  spdlog::info("loaded checkpoint {} at iteration {}", *found, state_.iteration);
}

Batch Trainer::micro_batch(const Dataset& dataset, int64_t first_sample,
                           int64_t micro_batch_index) const {
  // Megatron's sampler: each global batch is consumed in blocks of mbs * dp; data-parallel rank r
  // takes [r * mbs, (r + 1) * mbs) of each block.
  const int64_t mbs = recipe_.train.micro_batch_size;
  const int64_t start =
      first_sample + micro_batch_index * mbs * topology_.dp + topology_.dp_rank * mbs;
  std::vector<int64_t> indices(static_cast<size_t>(mbs));
  for (int64_t i = 0; i < mbs; ++i) indices[static_cast<size_t>(i)] = (start + i) % dataset.size();
  return dataset.batch(indices).to(device_);
}

Trainer::StepResult Trainer::train_step() {
  StepResult result{LossTotals(model_->losses())};
  param_groups_->zero_grads();
  comm_.set_step(state_.iteration + 1);
  inject_rank_fault(recipe_, topology_, state_.iteration + 1);
  const bool poison = recipe_.train.inject_nan_at_iteration == state_.iteration + 1;
  const double loss_scale = loss_scaler_ ? loss_scaler_->scale() : 1.0;
  const double scale = poison ? std::nan("") : loss_scale;
  result.losses = pipeline_
                      ? pipeline_step(*train_data_, state_.consumed_train_samples, false, scale)
                      : local_step(*train_data_, state_.consumed_train_samples, false, scale);
  if (loss_scaler_) param_groups_->wait_started();  // unscaling writes buckets in flight
  if (loss_scaler_ && !unscale_grads(result)) {
    param_groups_->abandon();
    return result;
  }
  timers_.start("all-grads-sync");
  finalize_grads(result);
  timers_.stop("all-grads-sync");
  if (recipe_.train.check_for_nan_in_loss_and_grad &&
      (!std::isfinite(result.grad_norm) || !result.losses.finite())) {
    throw non_finite_error(state_.iteration + 1, topology_.describe(), result.losses.sum(0),
                           result.grad_norm, model_->parameters());
  }
  if (spike_guard_.is_spike(state_.iteration + 1, result.losses.value(0), result.grad_norm)) {
    result.skipped = true;
    return result;
  }
  timers_.start("optimizer");
  param_groups_->step(scheduler_->lr(), scheduler_->weight_decay());
  timers_.stop("optimizer");
  scheduler_->step(recipe_.derived.global_batch_size);
  ++state_.optimizer_steps;
  return result;
}

void Trainer::after_forward(MicroBatchContext& ctx, bool forward_only, double loss_scale,
                            LossTotals& totals) const {
  totals.add(ctx.losses());
  if (forward_only) return;
  for (const LossTerm& term : ctx.losses().terms()) {
    for (const LossSpec& spec : totals.specs()) {
      if (spec.name != term.name) continue;
      ctx.set_loss_grad(term.name,
                        loss_gradient(spec, term, loss_scale, recipe_.derived.num_microbatches,
                                      recipe_.train.calculate_per_token_loss));
    }
  }
}

MicroBatchContext Trainer::micro_batch_context(bool forward_only, int64_t m) const {
  // Dropout streams are keyed by the micro-batch's index in the global batch (rank r's m-th is
  // m * dp + r, as micro_batch() takes its samples), so every data-parallel layout draws the
  // masks of one rank.
  const int64_t global = m * topology_.dp + topology_.dp_rank;
  MicroBatchContext ctx(!forward_only, static_cast<uint64_t>(state_.seed),
                        static_cast<uint64_t>(forward_only ? 0 : state_.iteration),
                        static_cast<uint64_t>(forward_only ? 0 : global));
  if (!forward_only) {
    ctx.set_observer(param_groups_->observer(m, recipe_.derived.num_microbatches));
  }
  return ctx;
}

LossTotals Trainer::local_step(const Dataset& dataset, int64_t first_sample, bool forward_only,
                               double loss_scale) {
  LossTotals totals(model_->losses());
  for (int64_t m = 0; m < recipe_.derived.num_microbatches; ++m) {
    timers_.start("batch-generator");
    const Batch batch = micro_batch(dataset, first_sample, m);
    timers_.stop("batch-generator");
    MicroBatchContext ctx = micro_batch_context(forward_only, m);
    if (!forward_only) timers_.start("forward-compute");
    model_->forward(batch, ctx);
    after_forward(ctx, forward_only, loss_scale, totals);
    if (!forward_only) {
      timers_.stop("forward-compute");
      timers_.start("backward-compute");
      model_->backward(ctx);
      timers_.stop("backward-compute");
    }
  }
  return totals;
}

LossTotals Trainer::pipeline_step(const Dataset& dataset, int64_t first_sample, bool forward_only,
                                  double loss_scale) {
  LossTotals totals(model_->losses());
  PipelineStep step;
  step.num_microbatches = recipe_.derived.num_microbatches;
  step.forward_only = forward_only;
  step.batch = [&](int64_t m) {
    timers_.start("batch-generator");
    Batch batch = micro_batch(dataset, first_sample, m);
    timers_.stop("batch-generator");
    return batch;
  };
  step.context = [&](int64_t m) { return micro_batch_context(forward_only, m); };
  step.after_forward = [&](MicroBatchContext& ctx) {
    after_forward(ctx, forward_only, loss_scale, totals);
  };
  step.device = device_;
  pipeline_->run(step);
  return totals;
}

void Trainer::reduce_losses(LossTotals& losses) {
  if (pipeline_) losses.all_reduce(*groups_.pipeline);  // each stage has its own losses
  losses.all_reduce(data_comm());
}

bool Trainer::unscale_grads(StepResult& result) {
  double found_inf = param_groups_->unscale_and_check(loss_scaler_->scale()) ? 1.0 : 0.0;
  comm_.all_reduce_max(&found_inf, 1);
  const double scale = loss_scaler_->scale();
  loss_scaler_->update(found_inf > 0);
  if (found_inf == 0) return true;
  // Megatron skips the update (and the scheduler step) and carries on with a smaller scale.
  result.skipped = true;
  reduce_losses(result.losses);
  spdlog::warn("iteration {}: gradients overflowed at loss scale {}; update skipped, scale now {}",
               state_.iteration + 1, scale, loss_scaler_->scale());
  return false;
}

void Trainer::finalize_grads(StepResult& result) {
  // Tied copies over the embedding group, each group's data-parallel reduce, tp partial sums.
  param_groups_->reduce({groups_.embedding.get(), device_groups_.embedding.get()}, tp_);
  reduce_losses(result.losses);
  // Every group by the global data-parallel size (Megatron scales expert gradients alike).
  if (recipe_.train.calculate_per_token_loss) {
    param_groups_->scale(1.0 / std::max(result.losses.count(0), 1.0));
  } else if (topology_.dp > 1) {
    param_groups_->scale(1.0 / static_cast<double>(topology_.dp));
  }
  if (recipe_.optimizer.clip_grad > 0) {
    result.grad_norm = param_groups_->grad_norm(tp_, *groups_.pipeline);
    param_groups_->clip(recipe_.optimizer.clip_grad, result.grad_norm);
  } else {
    // Megatron skips the norm when clipping is off and reports 0; non-finite grads still stop us.
    result.grad_norm = param_groups_->all_finite(*groups_.pipeline) ? 0.0 : std::nan("");
  }
}

std::vector<NamedValue> Trainer::evaluate() {
  param_groups_->wait_params();
  LossTotals totals(model_->losses());
  const int64_t gbs = recipe_.derived.global_batch_size;
  for (int64_t it = 0; it < recipe_.train.eval_iters; ++it) {
    totals.add(pipeline_ ? pipeline_step(*valid_data_, state_.consumed_valid_samples, true, 1.0)
                         : local_step(*valid_data_, state_.consumed_valid_samples, true, 1.0));
    state_.consumed_valid_samples += gbs;
  }
  reduce_losses(totals);
  return totals.values();
}

void Trainer::save() {
  if (!recipe_.checkpoint.save) return;
  state_.scheduler_num_steps = scheduler_->num_steps();
  if (loss_scaler_) state_.loss_scaler = loss_scaler_->state();
  param_groups_->wait_params();
  timers_.start("save-checkpoint");
  with_exit_code(ExitCode::kCheckpoint, [&] {
    checkpoint_writer_.save(*recipe_.checkpoint.save, recipe_, state_,
                            param_groups_->checkpoint_groups(!recipe_.checkpoint.no_save_optim),
                            topology_, comm_);
  });
  timers_.stop("save-checkpoint");
}

bool Trainer::should_exit(const char** reason) {
  double flags[2] = {exit_signal_received() ? 1.0 : 0.0, 0.0};
  if (recipe_.train.exit_duration_in_mins) {
    const double minutes =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count() / 60.0;
    flags[1] = minutes >= *recipe_.train.exit_duration_in_mins ? 1.0 : 0.0;
  }
  comm_.all_reduce_max(flags, 2);  // every rank takes the same decision
  if (flags[0] > 0)
    *reason = "exit signal received";
  else if (flags[1] > 0)
    *reason = "exit_duration_in_mins reached";
  else if (recipe_.train.exit_interval && state_.iteration % *recipe_.train.exit_interval == 0) {
    *reason = "exit_interval reached";
  } else {
    return false;
  }
  return true;
}

int Trainer::run() {
  if (recipe_.train.exit_signal_handler) install_exit_signal_handler();
  start_ = std::chrono::steady_clock::now();
  const int64_t train_iters = *recipe_.train.train_iters;
  const int64_t tokens_per_iteration = recipe_.derived.global_batch_size * recipe_.model.seq_length;
  std::vector<double> interval_losses(model_->losses().size(), 0.0);
  int64_t interval_iters = 0;
  int64_t interval_skipped = 0;
  auto interval_start = std::chrono::steady_clock::now();
  const int64_t first_iteration = state_.iteration;
  int64_t last_saved = state_.iteration;
  const char* exit_reason = nullptr;
  while (state_.iteration < train_iters) {
    const StepResult step = train_step();
    if (state_.iteration == first_iteration) reset_op_profile();  // the warm-up step
    ++state_.iteration;
    state_.consumed_train_samples += recipe_.derived.global_batch_size;
    for (size_t i = 0; i < interval_losses.size(); ++i) interval_losses[i] += step.losses.value(i);
    ++interval_iters;
    if (step.skipped) ++interval_skipped;
    if (state_.iteration % recipe_.logging.log_interval == 0 || state_.iteration == train_iters) {
      const auto now = std::chrono::steady_clock::now();
      const double seconds = std::chrono::duration<double>(now - interval_start).count();
      TrainLogRecord record;
      record.iteration = state_.iteration;
      record.train_iters = train_iters;
      record.consumed_samples = state_.consumed_train_samples;
      for (size_t i = 0; i < interval_losses.size(); ++i) {
        record.losses.push_back({step.losses.specs()[i].name, interval_losses[i] / interval_iters});
      }
      record.lr = scheduler_->lr();
      record.grad_norm = step.grad_norm;
      record.batch_size = recipe_.derived.global_batch_size;
      if (loss_scaler_) record.loss_scale = loss_scaler_->scale();
      record.skipped_iterations = interval_skipped;
      const Allocator& memory = allocator_for(device_);
      record.memory_allocated_bytes = static_cast<double>(memory.allocated_bytes());
      record.memory_peak_bytes = static_cast<double>(memory.peak_bytes());
      record.memory_reserved_bytes = static_cast<double>(memory.reserved_bytes());
      record.timers = timers_.take_max_over_ranks(comm_, interval_iters);
      record.ms_per_iteration = 1000.0 * seconds / interval_iters;
      record.tokens_per_second = tokens_per_iteration * interval_iters / seconds;
      record.elapsed_seconds = std::chrono::duration<double>(now - start_).count();
      metrics_.train(record);
      if (recipe_.logging.log_straggler) {
        const std::string table = straggler_report(comm_, compute_ms(record.timers),
                                                   recipe_.logging.straggler_minmax_count);
        if (topology_.is_last_rank()) spdlog::info("straggler (compute ms/iteration) | {}", table);
      }
      std::fill(interval_losses.begin(), interval_losses.end(), 0.0);
      interval_iters = 0;
      interval_skipped = 0;
      interval_start = std::chrono::steady_clock::now();
    }
    if (valid_data_ && recipe_.train.eval_interval &&
        state_.iteration % *recipe_.train.eval_interval == 0) {
      metrics_.validation(state_.iteration, evaluate());
    }
    if (recipe_.checkpoint.save_interval &&
        state_.iteration % *recipe_.checkpoint.save_interval == 0) {
      save();
      last_saved = state_.iteration;
    }
    if (should_exit(&exit_reason)) break;
  }
  param_groups_->wait_params();
  if (!exit_reason && valid_data_ &&
      (!recipe_.train.eval_interval || state_.iteration % *recipe_.train.eval_interval != 0)) {
    metrics_.validation(state_.iteration, evaluate());
  }
  if (last_saved != state_.iteration) save();
  with_exit_code(ExitCode::kCheckpoint, [&] { checkpoint_writer_.wait(comm_); });
  if (exit_reason) spdlog::info("stopping at iteration {}: {}", state_.iteration, exit_reason);
  const Allocator& memory = allocator_for(device_);
  // Every rank reports, with exact bytes: `plan` is checked against them (plan_memory_test).
  spdlog::info(
      "{}: peak memory on {}: {:.1f} MiB in tensors ({} bytes), {:.1f} MiB reserved at "
      "exit",
      topology_.describe(), device_.str(), memory.peak_bytes() / 1048576.0, memory.peak_bytes(),
      memory.reserved_bytes() / 1048576.0);
  return 0;
}

}  // namespace me
