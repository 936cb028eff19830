// The core sections' fields, one file each; engine/recipe/schema.cpp assembles them in this order,
// which is the order of the sections in a printed recipe and in docs/recipes.md.
#pragma once

#include "engine/recipe/field.h"

namespace me {

FieldGroup model_section();
FieldGroup parallel_section();
FieldGroup data_section();
FieldGroup tokenizer_section();
FieldGroup train_section();
FieldGroup optimizer_section();
FieldGroup scheduler_section();
FieldGroup mixed_precision_section();
FieldGroup checkpoint_section();
FieldGroup logging_section();

}  // namespace me
