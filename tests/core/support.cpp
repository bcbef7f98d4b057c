#include "support.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "engine/precision_choice.h"

extern char** environ;

namespace msntest {

std::string test_device() {
  const char* d = std::getenv("MSNLENS_TEST_DEVICE");
  return d != nullptr && *d != '\0' ? d : "cpu";
}

std::string unavailable_on_this_cpu(msnlens::Precision precision) {
  for (const msnlens::PrecisionOffer& o : msnlens::precision_offers(at::kCPU))
    if (o.precision == precision && !o.available) return o.detail;
  return "";
}

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

std::string test_name(const std::string& param) {
  std::string name = param;
  for (char& c : name)
    if (std::isalnum(static_cast<unsigned char>(c)) == 0) c = '_';
  return name;
}

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "msnlens-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr)
    throw std::system_error(errno, std::generic_category(), "cannot create a folder like " + pattern);
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;  // a destructor must not throw; the folder is in /tmp regardless
  std::filesystem::remove_all(path_, ignored);
}

std::filesystem::path TempDirTest::file(const std::string& name, const std::string& bytes) const {
  const std::filesystem::path p = dir_ / name;
  write_file(p, bytes);
  return p;
}

namespace {

void close_all(std::initializer_list<int> fds) {
  for (const int fd : fds)
    if (fd >= 0) ::close(fd);
}

// The decoded wait status: exit code, or -1 for a signal.
int exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

}  // namespace

Process::Process(const std::string& program, const std::vector<std::string>& args, Output output,
                 const std::vector<std::pair<std::string, std::string>>& env) {
  std::vector<std::string> environment;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    bool replaced = false;
    for (const auto& [name, value] : env) replaced = replaced || entry.rfind(name + "=", 0) == 0;
    if (!replaced) environment.push_back(entry);
  }
  for (const auto& [name, value] : env) environment.push_back(name + "=" + value);
  std::vector<std::string> argv_strings = {program};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  const auto pointers = [](std::vector<std::string>& strings) {
    std::vector<char*> p;
    for (std::string& s : strings) p.push_back(s.data());
    p.push_back(nullptr);
    return p;
  };
  std::vector<char*> argv = pointers(argv_strings), envp = pointers(environment);

  // Both pipes close on exec, so a child started later never holds another child's pipe open.
  int out[2] = {-1, -1}, err[2] = {-1, -1};
  if (output == Output::Capture && (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)) {
    const int error = errno;
    close_all({out[0], out[1], err[0], err[1]});
    throw std::system_error(error, std::generic_category(), "pipe2");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (output == Output::Capture) {
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
  }
  const int rc = ::posix_spawn(&pid_, program.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close_all({out[1], err[1]});
  if (rc != 0) {
    close_all({out[0], err[0]});
    throw std::system_error(rc, std::generic_category(), "cannot start " + program);
  }
  out_ = out[0];
  err_ = err[0];
}

Process::~Process() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  close_all({out_, err_});
}

Process::Result Process::wait(std::chrono::milliseconds timeout) {
  Result r;
  if (pid_ <= 0) return r;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const auto left_ms = [&] {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    return static_cast<int>(std::max<std::int64_t>(0, left.count()));
  };
  // Captured output is drained as it comes: a child blocked on a full pipe would never exit.
  while ((out_ >= 0 || err_ >= 0) && left_ms() > 0) {
    pollfd fds[2] = {{out_, POLLIN, 0}, {err_, POLLIN, 0}};
    if (::poll(fds, 2, left_ms()) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[65536];
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        (i == 0 ? r.out : r.err).append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        (i == 0 ? out_ : err_) = -1;
      }
    }
  }
  int status = 0;
  for (;;) {
    const pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      r.status = exit_code(status);
      break;
    }
    if (done < 0 && errno != EINTR) break;
    if (left_ms() == 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      r.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
  return r;
}

Process::Result run_process(const std::string& program, const std::vector<std::string>& args) {
  return Process(program, args).wait(std::chrono::minutes(2));
}

}  // namespace msntest
