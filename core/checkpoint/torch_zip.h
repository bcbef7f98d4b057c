#pragma once
// Files written by torch.save (PyTorch >= 1.6): a zip holding data.pkl and one member per
// storage. Used for Hugging Face pytorch_model.bin and the original MSN .pth.tar checkpoints.

#include <filesystem>

#include "checkpoint/unpickler.h"

namespace msnlens {

// Tensors view the mapped file; nothing in the pickle is executed.
PickleContents read_torch_zip(const std::filesystem::path& path);
PickleContents read_torch_zip(const MappedFilePtr& file);

}  // namespace msnlens
