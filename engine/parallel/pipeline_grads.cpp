// The tied embedding's gradient is summed in its own dtype, where it lives (tensor_collectives.h).
#include "engine/parallel/pipeline_grads.h"

#include <algorithm>
#include <cmath>

#include "engine/models/word_embedding_copy.h"
#include "kernels/elementwise.h"

namespace me {

void all_reduce_embedding_grads(const std::vector<Parameter*>& params,
                                const GroupCommunicators& embedding) {
  if (embedding.size() == 1) return;
  const auto it = std::find_if(params.begin(), params.end(),
                               [](const Parameter* p) { return p->name == kWordEmbeddingsName; });
  ME_CHECK(it != params.end(), "no {} to all-reduce over the embedding group", kWordEmbeddingsName);
  all_reduce_sum((*it)->grad, embedding);
}

double pipeline_grad_norm(const std::vector<Parameter*>& params, const TensorParallel& tp,
                          const PipelineStage& stage, Communicator& pipeline,
                          Communicator* shards) {
  double sum = 0.0;
  for (const Parameter* p : params) {
    if (!stage.first() && p->name == kWordEmbeddingsName) continue;
    const double squares = sum_of_squares(p->grad);
    sum += p->partition.sharded() ? squares : squares / static_cast<double>(tp.size);
  }
  if (tp.size > 1) tp.comm->all_reduce_sum(&sum, 1);
  pipeline.all_reduce_sum(&sum, 1);
  if (shards) shards->all_reduce_sum(&sum, 1);
  return std::sqrt(sum);
}

}  // namespace me
