// Every seed of the fuzz corpora, the fixtures they grew from, and every input a fuzzer has
// crashed on (tests/fuzz/regressions/<target>/) go through the fuzz targets again: a crasher
// that comes back fails `make test`, not just `make fuzz`.

#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>
#include <typeinfo>

#include "fuzz/fuzz_targets.h"
#include "support.h"

using namespace msnlens;
namespace fs = std::filesystem;

namespace {

// One input for one target; `name` says where it comes from (<target>/<corpus|regressions|fixture>/<file>).
struct Replay {
  std::string target, file, name;
};

// What GoogleTest prints for a failing case.
void PrintTo(const Replay& r, std::ostream* os) { *os << r.name << " (" << r.file << ")"; }

std::vector<Replay> replays() {
  std::vector<Replay> all;
  const fs::path fuzz = fs::path(MSNLENS_FUZZ_DIR);
  for (const auto& t : fuzz::targets())
    for (const char* dir : {"corpus", "regressions"}) {
      const fs::path d = fuzz / dir / t.name;
      if (!fs::is_directory(d)) continue;
      std::vector<fs::path> files;
      for (const auto& e : fs::directory_iterator(d)) files.push_back(e.path());
      std::sort(files.begin(), files.end());
      for (const fs::path& f : files)
        all.push_back({t.name, f.string(), std::string(t.name) + "/" + dir + "/" + f.filename().string()});
    }
  // The real checkpoints and images the corpora started from.
  const std::vector<std::pair<const char*, const char*>> fixtures = {
      {"safetensors", "models/tiny64-masktoken/model.safetensors"},
      {"torch_zip", "models/tiny224-base-bin/pytorch_model.bin"},
      {"torch_zip", "models/tiny96-msn-original/vit_tiny96_msn.pth.tar"},
      {"image", "images/horse.png"}};
  for (const auto& [target, file] : fixtures)
    all.push_back({target, msntest::data_path(file).string(), std::string(target) + "/fixture/" + file});
  return all;
}

class FuzzRegressions : public ::testing::TestWithParam<Replay> {};

TEST_P(FuzzRegressions, Replay) {
  const Replay& r = GetParam();
  const std::string bytes = msntest::read_file(r.file);
  for (const auto& t : fuzz::targets())
    if (r.target == t.name) {
      try {
        EXPECT_EQ(t.run(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()), 0) << r.file;
      } catch (const std::exception& e) {
        ADD_FAILURE() << r.file << " escaped as " << typeid(e).name() << ": " << e.what();
      }
      return;
    }
  ADD_FAILURE() << "unknown fuzz target " << r.target;
}

INSTANTIATE_TEST_SUITE_P(Inputs, FuzzRegressions, ::testing::ValuesIn(replays()),
                         [](const auto& p) { return msntest::test_name(p.param.name); });

}  // namespace
