//===- StopStrings.cpp - Stop strings in streamed text --------------------===//
//
// The held-back text is the longest ending of what has arrived that could
// still grow into a stop string: if a stop string is to start at position p,
// the text from p on must be a prefix of it, so no stop string can start
// before the longest such ending, and everything before it is final.
//
//===----------------------------------------------------------------------===//

#include "runtime/StopStrings.h"
#include "runtime/Status.h"

#include <algorithm>

namespace nibble::runtime {

size_t incompleteUtf8Suffix(const std::string &text) {
  size_t size = text.size();
  for (size_t back = 1; back <= std::min<size_t>(3, size); ++back) {
    auto byte = static_cast<unsigned char>(text[size - back]);
    if ((byte & 0xC0) == 0x80)
      continue; // A continuation byte: look further back for the lead.
    size_t length = byte >= 0xF0 && byte <= 0xF7   ? 4
                    : byte >= 0xE0 && byte <= 0xEF ? 3
                    : byte >= 0xC2 && byte <= 0xDF ? 2
                                                   : 1;
    return length > back ? back : 0;
  }
  return 0;
}

nibble_status StopStringFilter::reset(std::vector<std::string> stopStrings) {
  for (size_t i = 0; i < stopStrings.size(); ++i)
    if (stopStrings[i].empty())
      return fail(NIBBLE_ERROR_INVALID_ARGUMENT,
                  "stop string %zu of %zu is empty; an empty stop string "
                  "would stop before the first token",
                  i, stopStrings.size());
  stops = std::move(stopStrings);
  pending.clear();
  matched = -1;
  return NIBBLE_OK;
}

bool StopStringFilter::push(const std::string &piece, std::string &printable) {
  if (stopped())
    return true;
  pending += piece;

  // The stop string that ends first (of those, the one starting first), so
  // that the result does not depend on where the pieces were cut.
  size_t first = std::string::npos, firstEnd = std::string::npos;
  for (size_t i = 0; i < stops.size(); ++i) {
    size_t at = pending.find(stops[i]);
    if (at == std::string::npos)
      continue;
    size_t end = at + stops[i].size();
    if (end < firstEnd || (end == firstEnd && at < first)) {
      first = at;
      firstEnd = end;
      matched = static_cast<int>(i);
    }
  }
  if (first != std::string::npos) {
    printable.append(pending, 0, first);
    pending.clear();
    return true;
  }

  // Hold back the longest ending that is a proper prefix of a stop string.
  size_t hold = 0;
  for (const std::string &stop : stops) {
    size_t longest = std::min(stop.size() - 1, pending.size());
    for (size_t length = longest; length > hold; --length) {
      if (pending.compare(pending.size() - length, length, stop, 0, length) ==
          0) {
        hold = length;
        break;
      }
    }
  }
  size_t release = pending.size() - hold;
  // Never release a character's first bytes without the rest.
  release -= incompleteUtf8Suffix(pending.substr(0, release));
  printable.append(pending, 0, release);
  pending.erase(0, release);
  return false;
}

void StopStringFilter::finish(std::string &printable) {
  if (stopped())
    return;
  printable += pending;
  pending.clear();
}

} // namespace nibble::runtime
