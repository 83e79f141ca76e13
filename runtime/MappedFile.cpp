//===- MappedFile.cpp - A read-only memory mapping of a file --------------===//
//
// open + fstat + mmap(PROT_READ, MAP_PRIVATE); the descriptor is closed right
// away, the mapping lives until the MappedFile is destroyed.
//
//===----------------------------------------------------------------------===//

#include "runtime/MappedFile.h"

#include "runtime/Status.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace nibble {
namespace runtime {

MappedFile::~MappedFile() {
  if (mapped)
    ::munmap(const_cast<uint8_t *>(bytes), length);
}

nibble_status MappedFile::open(const std::string &path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fail(NIBBLE_ERROR_IO, "%s: cannot open: %s", path.c_str(),
                std::strerror(errno));
  struct stat info;
  if (::fstat(fd, &info) != 0) {
    int error = errno;
    ::close(fd);
    return fail(NIBBLE_ERROR_IO, "%s: cannot stat: %s", path.c_str(),
                std::strerror(error));
  }
  if (!S_ISREG(info.st_mode)) {
    ::close(fd);
    return fail(NIBBLE_ERROR_IO, "%s: not a regular file", path.c_str());
  }
  if (info.st_size == 0) {
    ::close(fd);
    return NIBBLE_OK;
  }
  void *address = ::mmap(nullptr, static_cast<size_t>(info.st_size), PROT_READ,
                         MAP_PRIVATE, fd, 0);
  int error = errno;
  ::close(fd);
  if (address == MAP_FAILED)
    return fail(NIBBLE_ERROR_IO, "%s: cannot map %lld bytes: %s", path.c_str(),
                static_cast<long long>(info.st_size), std::strerror(error));
  bytes = static_cast<const uint8_t *>(address);
  length = static_cast<size_t>(info.st_size);
  mapped = true;
  return NIBBLE_OK;
}

} // namespace runtime
} // namespace nibble
