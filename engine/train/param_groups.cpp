// ParamGroups: one gradient path per group, and the finalize steps walking all of them in group
// order (dense first), so a dense-only model reduces, norms and steps exactly as one buffer did.
#include "engine/train/param_groups.h"

#include <algorithm>

#include "engine/models/transformer_config.h"
#include "engine/distributed/distributed_optimizer.h"
#include "engine/optim/grad_clip.h"
#include "engine/optim/loss_scaler.h"
#include "engine/distributed/grad_norm.h"
#include "engine/distributed/pipeline_grads.h"
#include "engine/distributed/tensor_parallel_grads.h"
#include "engine/recipe/recipe.h"
#include "kernels/elementwise.h"

namespace me {

ParamGroup::ParamGroup(std::string name, std::vector<Parameter*> params, const Recipe& recipe,
                       Device device, const ParamGroupComms& comms)
    : name_(std::move(name)), comms_(comms) {
  ME_CHECK(comms_.data && comms_.buffers && comms_.data->size() == comms_.buffers->size(),
           "parameter group '{}' without matching data-parallel communicators", name_);
  buffers_ = std::make_unique<ParamBuffers>(
      std::move(params), device, data_parallel_layout_options(recipe, comms_.data->size()),
      compute_dtype(recipe));
  optimizer_ = make_optimizer(*buffers_, recipe, *comms_.buffers);
  reducer_ = std::make_unique<GradReducer>(*buffers_, *comms_.buffers, optimizer_->shard());
  overlap_ = std::make_unique<DataParallelOverlap>(recipe, *reducer_, *buffers_, *comms_.buffers,
                                                   optimizer_->shard());
}

void ObserverFanOut::before_forward(Module& module) {
  for (ModuleObserver* o : observers) o->before_forward(module);
}

void ObserverFanOut::after_backward(Module& module) {
  for (ModuleObserver* o : observers) o->after_backward(module);
}

ParamGroups::ParamGroups(
    const std::vector<Parameter*>& params, const Recipe& recipe, Device device,
    const std::function<ParamGroupComms(const std::string& group)>& comms_for) {
  std::vector<std::string> names = {kDenseGroup};
  for (const Parameter* p : params) {
    if (std::find(names.begin(), names.end(), p->group) == names.end()) names.push_back(p->group);
  }
  for (const std::string& name : names) {
    std::vector<Parameter*> members;
    std::copy_if(params.begin(), params.end(), std::back_inserter(members),
                 [&](const Parameter* p) { return p->group == name; });
    if (members.empty()) continue;  // a model of experts only
    groups_.push_back(
        std::make_unique<ParamGroup>(name, std::move(members), recipe, device, comms_for(name)));
  }
}

std::vector<Parameter*> ParamGroups::parameters() const {
  std::vector<Parameter*> out;
  for (const auto& g : groups_) {
    const std::vector<Parameter*>& params = g->buffers().parameters();
    out.insert(out.end(), params.begin(), params.end());
  }
  return out;
}

int64_t ParamGroups::numel() const {
  int64_t n = 0;
  for (const Parameter* p : parameters()) n += p->numel();
  return n;
}

ModuleObserver* ParamGroups::observer(int64_t micro_batch, int64_t num_microbatches) {
  ObserverFanOut& fan = micro_batch + 1 == num_microbatches ? last_ : earlier_;
  fan.observers.clear();
  for (const auto& g : groups_) {
    if (ModuleObserver* o = g->overlap().observer(micro_batch, num_microbatches)) {
      fan.observers.push_back(o);
    }
  }
  if (fan.observers.size() > 1) return &fan;
  return fan.observers.empty() ? nullptr : fan.observers.front();
}

void ParamGroups::zero_grads() {
  for (const auto& g : groups_) g->buffers().zero_grads();
}

void ParamGroups::sync_model_params() {
  for (const auto& g : groups_) g->buffers().sync_model_params();
}

bool ParamGroups::unscale_and_check(double scale) {
  bool found_inf = false;
  for (const auto& g : groups_) {
    const bool inf = unscale_grads_and_check(g->buffers(), scale);  // every group, found or not
    found_inf = found_inf || inf;
  }
  return found_inf;
}

void ParamGroups::wait_started() {
  for (const auto& g : groups_) g->reducer().wait_started();
}

void ParamGroups::abandon() {
  for (const auto& g : groups_) g->reducer().abandon();
}

void ParamGroups::reduce(const GroupCommunicators& embedding, const TensorParallel& tp) {
  const std::vector<Parameter*> params = parameters();
  all_reduce_tied_grads(params, embedding);
  for (const auto& g : groups_) g->reducer().finish();  // a no-op over one rank
  all_reduce_tensor_parallel_grads(params, tp);
}

void ParamGroups::scale(double factor) {
  for (const auto& g : groups_) me::scale(g->buffers().grads(), factor);
}

double ParamGroups::grad_norm(const TensorParallel& tp, Communicator& pipeline) {
  std::vector<GradNormGroup> norm_groups;
  for (const auto& g : groups_) {
    const bool sharded = g->optimizer().shard().size > 1;
    norm_groups.push_back({g->buffers().parameters(), &g->buffers().grads(),
                           sharded ? g->comms().data : nullptr, g->comms().disjoint});
  }
  return global_grad_norm(norm_groups, tp, pipeline);
}

void ParamGroups::clip(double clip_grad, double norm) {
  for (const auto& g : groups_) clip_grads(g->buffers(), clip_grad, norm);
}

bool ParamGroups::all_finite(Communicator& pipeline) {
  double non_finite = 0.0;
  for (const auto& g : groups_) {
    if (!g->reducer().all_finite()) non_finite = 1.0;  // every group: each is collective
  }
  pipeline.all_reduce_max(&non_finite, 1);
  return non_finite == 0.0;
}

void ParamGroups::step(double lr, double weight_decay) {
  for (const auto& g : groups_) {
    g->optimizer().step(lr, weight_decay);
    g->overlap().after_step();  // the model copy now, or per bucket with overlap_param_gather
  }
}

void ParamGroups::wait_params() {
  for (const auto& g : groups_) g->overlap().wait_params();
}

std::vector<CheckpointGroup> ParamGroups::checkpoint_groups(bool with_optimizer) const {
  std::vector<CheckpointGroup> out;
  for (const auto& g : groups_) {
    out.push_back(
        {&g->buffers(), with_optimizer ? &g->optimizer() : nullptr, g->comms().data->rank()});
  }
  return out;
}

}  // namespace me
