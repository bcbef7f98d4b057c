#include "test_support.h"

#include <fstream>
#include <iterator>

namespace testing {

void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

namespace {
void put(std::string& s, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
}  // namespace

std::string stored_zip(const std::vector<std::pair<std::string, std::string>>& members) {
  std::string zip, directory;
  for (const auto& [name, data] : members) {
    const std::uint64_t offset = zip.size();
    put(zip, 0x04034b50, 4);
    put(zip, 20, 2); put(zip, 0, 2); put(zip, 0, 2);  // version, flags, method (stored)
    put(zip, 0, 4);                                    // time, date
    put(zip, 0, 4);                                    // crc
    put(zip, data.size(), 4); put(zip, data.size(), 4);
    put(zip, name.size(), 2); put(zip, 0, 2);
    zip += name + data;

    put(directory, 0x02014b50, 4);
    put(directory, 20, 2); put(directory, 20, 2); put(directory, 0, 2); put(directory, 0, 2);
    put(directory, 0, 4); put(directory, 0, 4);
    put(directory, data.size(), 4); put(directory, data.size(), 4);
    put(directory, name.size(), 2); put(directory, 0, 2); put(directory, 0, 2);
    put(directory, 0, 2); put(directory, 0, 2); put(directory, 0, 4);
    put(directory, offset, 4);
    directory += name;
  }
  const std::uint64_t cd_offset = zip.size();
  zip += directory;
  put(zip, 0x06054b50, 4);
  put(zip, 0, 2); put(zip, 0, 2);
  put(zip, members.size(), 2); put(zip, members.size(), 2);
  put(zip, directory.size(), 4); put(zip, cd_offset, 4);
  put(zip, 0, 2);
  return zip;
}

}  // namespace testing
