//===- FuzzUtil.h - Helpers shared by the fuzz harnesses --------*- C++ -*-===//
//
// Readers that take a path get the fuzz input through an anonymous in-memory
// file (memfd) named /proc/self/fd/<n>: no disk traffic and nothing left
// behind, and the reader maps or reads it exactly as it would a real file.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_FUZZ_FUZZUTIL_H
#define NIBBLE_FUZZ_FUZZUTIL_H

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <ftw.h>
#include <sys/mman.h>
#include <unistd.h>

namespace nibble {
namespace fuzz {

/// An anonymous in-memory file holding a copy of a fuzz input.
class MemoryFile {
public:
  MemoryFile(const uint8_t *data, size_t size) {
    fd = memfd_create("nibble-fuzz", MFD_CLOEXEC);
    if (fd < 0) {
      perror("memfd_create");
      abort();
    }
    size_t written = 0;
    while (written < size) {
      ssize_t n = write(fd, data + written, size - written);
      if (n <= 0) {
        perror("write");
        abort();
      }
      written += (size_t)n;
    }
    filePath = "/proc/self/fd/" + std::to_string(fd);
  }
  ~MemoryFile() { close(fd); }
  MemoryFile(const MemoryFile &) = delete;
  MemoryFile &operator=(const MemoryFile &) = delete;

  /// A path that opens the file (for as long as this object lives).
  const std::string &path() const { return filePath; }

private:
  int fd = -1;
  std::string filePath;
};

/// A private directory for files a harness writes (an importer's weight
/// archive, a writer's output), made on first use under $TMPDIR (else
/// /dev/shm, else /tmp) and removed with its contents when the process
/// exits normally.
inline const std::string &scratchDir() {
  static const std::string dir = [] {
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
      base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    std::string pattern = std::string(base) + "/nibble-fuzz-XXXXXX";
    if (!mkdtemp(pattern.data())) {
      perror("mkdtemp");
      abort();
    }
    static std::string removeAtExit;
    removeAtExit = pattern;
    atexit([] {
      nftw(
          removeAtExit.c_str(),
          [](const char *path, const struct stat *, int, struct FTW *) {
            return remove(path);
          },
          16, FTW_DEPTH | FTW_PHYS);
    });
    return pattern;
  }();
  return dir;
}

/// Stops the fuzzer with `message`: a property the harness checks (a round
/// trip, an invariant of a successful parse) does not hold.
[[noreturn]] inline void fail(const char *message) {
  fprintf(stderr, "nibble fuzz harness: %s\n", message);
  abort();
}

} // namespace fuzz
} // namespace nibble

#endif // NIBBLE_FUZZ_FUZZUTIL_H
