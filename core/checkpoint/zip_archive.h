#pragma once
// The zip container torch.save has written since PyTorch 1.6: uncompressed ("stored") members,
// ZIP64 when the file passes 4 GiB. Only what that writer produces is accepted; member names
// that climb out of the archive ("../x", "/etc/x") make the whole file invalid.

#include <cstdint>
#include <string>
#include <vector>

#include "common/mapped_file.h"

namespace msnlens {

class ZipArchive {
 public:
  struct Member {
    std::string name;
    std::uint64_t data_offset = 0;  // where the stored bytes start in the file
    std::uint64_t size = 0;
  };

  // Throws Error naming the file for anything but a well-formed archive of stored members.
  explicit ZipArchive(MappedFilePtr file);

  const std::vector<Member>& members() const { return members_; }
  const Member* find(const std::string& name) const;
  const MappedFilePtr& file() const { return file_; }

  static bool looks_like_zip(const MappedFile& file);

 private:
  MappedFilePtr file_;
  std::vector<Member> members_;
};

}  // namespace msnlens
