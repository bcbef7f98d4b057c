#include "checkpoint/torch_zip.h"

#include <algorithm>

#include "checkpoint/zip_archive.h"
#include "common/error.h"

namespace msnlens {

PickleContents read_torch_zip(const std::filesystem::path& path) { return read_torch_zip(MappedFile::open(path)); }

PickleContents read_torch_zip(const MappedFilePtr& file) {
  const std::string name = file->name();
  if (!ZipArchive::looks_like_zip(*file)) {
    if (file->size() >= 2 && file->at(0, 1)[0] == 0x80)
      fail(name, "legacy torch.save format (PyTorch < 1.6) is not supported; re-save it with "
                 "torch.save(torch.load(f), f) in PyTorch >= 1.6");
    fail(name, "not a torch.save file (no zip signature)");
  }
  const ZipArchive zip(file);

  // All members share one top-level folder; data.pkl sits directly inside it.
  std::string prefix;
  for (const auto& m : zip.members()) {
    const auto slash = m.name.find('/');
    if (slash != std::string::npos && m.name.compare(slash, std::string::npos, "/data.pkl") == 0) {
      prefix = m.name.substr(0, slash + 1);
      break;
    }
  }
  if (prefix.empty()) fail(name, "zip archive has no data.pkl: not a torch.save checkpoint");
  if (zip.find(prefix + "constants.pkl") != nullptr)
    fail(name, "this is a TorchScript archive (torch.jit.save), not a state dict saved with torch.save");
  if (const auto* order = zip.find(prefix + "byteorder")) {
    const std::string value(reinterpret_cast<const char*>(file->at(order->data_offset, order->size)),
                            order->size);
    if (value != "little") fail(name, "big-endian checkpoints are not supported");
  }

  const auto* pickle = zip.find(prefix + "data.pkl");
  const StorageLoader storage = [&](const std::string& key, at::ScalarType dtype, std::int64_t numel) {
    if (key.empty() || !std::all_of(key.begin(), key.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }))
      fail(name, "invalid storage key \"" + key + "\"");
    const auto* member = zip.find(prefix + "data/" + key);
    if (member == nullptr) fail(name, "storage " + key + " is missing from the archive");
    const auto elem = static_cast<std::uint64_t>(c10::elementSize(dtype));
    if (static_cast<std::uint64_t>(numel) > member->size / elem)
      fail(name, "storage " + key + " claims " + std::to_string(numel) + " elements but holds " +
                     std::to_string(member->size) + " bytes");
    return tensor_from_file(file, member->data_offset, numel, dtype);
  };
  return read_pickle(file->at(pickle->data_offset, pickle->size), pickle->size, name, storage);
}

}  // namespace msnlens
