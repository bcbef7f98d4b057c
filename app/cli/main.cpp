// msnlens-cli: the engine for scripts.
//   msnlens-cli info  --model PATH [--config FILE] [--json OUT]
//   msnlens-cli infer --model PATH [--config FILE] (--image FILE | --inputs FILE.safetensors)
//                     [--interpolate-pos-encoding] [--topk K] [--device auto|cpu|cuda]
//                     [--precision fp32|bf16|fp16] [--fewshot FILE] [--json OUT.json] [--tensors OUT.safetensors]
//                     [--mask PATCHES|random:R[:SEED]|focal:R[:SEED] [--mask-mode drop|token|gray|blur]]
//   msnlens-cli pretrain --data IDX|FOLDER --out DIR [--preset NAME] [--config FILE] [--epochs N]
//                     [--stop-after N] [--cooldown-epochs N] [--resume CHECKPOINT | --warm-start MODEL_DIR [--rewarm-epochs E] | --init-from MODEL_DIR]
//                     [--checkpoint FILE] [--checkpoint-moments fp32|bf16] [--device auto|cpu|cuda]   (RANK/WORLD_SIZE/... for c10d)
//   msnlens-cli fewshot --model PATH|pixels --train IDX|FOLDER [--test ...] [--k 1,2,5,10] [--save FILE]
//   msnlens-cli explain --model PATH (--image F | --images DIR | --inputs F.safetensors) --method M (a map, a cause or all)
//                     [--target K|NAME] [--layer L] [--head H|mean|max|min] [--query P] --out X.npy|X.csv|X.png
//   msnlens-cli random-model --shape small|base|large|base-4|large-7 --out DIR
// Every failure is one line on stderr naming the file and the problem, and exit status 1.

#include <CLI/CLI.hpp>

#include "commands.h"
#include "front_end.h"
#include "startup.h"

int main(int argc, char** argv) {
  using namespace msnlens;
  front_end::use_fast_blas_kernels(argv);
  CLI::App app{"MSN Lens command line: inspect ViT-MSN checkpoints and run inference"};
  app.require_subcommand(1);
  InfoArgs info_args;
  InferArgs infer_args;
  ExplainArgs explain_args;
  RandomModelArgs random_model_args;
  PretrainArgs pretrain_args;
  FewShotArgs fewshot_args;
  CLI::App* info = add_info_command(app, info_args);
  CLI::App* infer = add_infer_command(app, infer_args);
  CLI::App* explain = add_explain_command(app, explain_args);
  CLI::App* random_model = add_random_model_command(app, random_model_args);
  CLI::App* pretrain = add_pretrain_command(app, pretrain_args);
  add_fewshot_command(app, fewshot_args);  // the one left when no other was given
  CLI11_PARSE(app, argc, argv);

  return front_end::guarded_main("msnlens-cli", [&] {
    if (info->parsed()) return run_info(info_args);
    if (infer->parsed()) return run_infer(infer_args);
    if (explain->parsed()) return run_explain(explain_args);
    if (random_model->parsed()) return run_random_model(random_model_args);
    if (pretrain->parsed()) return run_pretrain(pretrain_args);
    return run_fewshot(fewshot_args);
  });
}
