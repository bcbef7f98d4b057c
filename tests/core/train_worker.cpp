// Helper process for test_train: runs a few MSN steps on a tiny model, as process RANK of
// WORLD_SIZE (c10d over loopback when WORLD_SIZE > 1), and writes its per-step losses and its
// final student weights to OUT/rank<R>.{txt,safetensors}.
//   train_worker DATA.idx OUT STEPS BATCH

#include <fstream>
#include <iostream>

#include "checkpoint/safetensors.h"
#include "common/error.h"
#include "tiny_pretrain_config.h"
#include "train/trainer.h"

using namespace msnlens;

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: train_worker DATA OUT STEPS BATCH\n";
    return 2;
  }
  try {
    PretrainConfig c = tiny_pretrain_config(std::stoi(argv[4]));
    c.epochs = 1;
    const auto data = std::make_shared<IdxImageDataset>(argv[1]);
    const auto dist = Distributed::from_environment();
    MsnTrainer trainer(c, data, dist);
    const std::string out = argv[2];
    std::ofstream losses(out + "/rank" + std::to_string(dist->rank()) + ".txt");
    losses.precision(10);
    for (int s = 0; s < std::stoi(argv[3]); ++s) losses << trainer.step(s, 0).total.item<double>() << "\n";
    TensorMap w = trainer.student()->export_weights();
    w["prototypes"] = trainer.export_weights().at("prototypes");
    write_safetensors(out + "/rank" + std::to_string(dist->rank()) + ".safetensors", {w.begin(), w.end()});
  } catch (const std::exception& e) {
    std::cerr << "train_worker: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
