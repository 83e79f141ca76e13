//===- StopStrings.h - Stop strings in streamed text ------------*- C++ -*-===//
//
// Generation streams the decoded text of one token at a time, and a stop
// string ("<|im_end|>", "\nUser:") may arrive split over several tokens.
// StopStringFilter sits between the detokenizer and the output: it finds a
// stop string wherever the token boundaries fall, and holds back the end of
// the text for as long as it could still be the start of one, so a caller
// that prints what it is given never prints (and has to take back) a stop
// string or a piece of one. It also holds back an incomplete UTF-8 sequence
// at the end (a byte-fallback token can carry part of a character) until the
// rest arrives, so printed text never ends inside a character.
//
//   StopStringFilter stops;
//   stops.reset({"<|im_end|>"});
//   std::string out;
//   for each token: if (stops.push(detokenize(token), out)) break;
//                   print(out); out.clear();
//   stops.finish(out); print(out);   // at EOS or the token limit
//
// libstdc++ only: this file is part of the runtime, which has no LLVM.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_RUNTIME_STOPSTRINGS_H
#define NIBBLE_RUNTIME_STOPSTRINGS_H

#include "runtime/nibble_runtime.h"

#include <string>
#include <vector>

namespace nibble::runtime {

/// Finds stop strings in text that arrives piece by piece and releases only
/// the text that can no longer become part of one.
class StopStringFilter {
public:
  /// Sets the stop strings (none is allowed: everything passes through) and
  /// forgets any text and match. Fails on an empty stop string.
  nibble_status reset(std::vector<std::string> stopStrings);

  /// Adds the next piece of text. Appends to `printable` the text that is
  /// now final: if a stop string has appeared, everything before it (if the
  /// piece completes several, the one that ends first, as if the piece had
  /// come a byte at a time, and of those the one starting first); otherwise
  /// everything except the longest ending that is a proper prefix of a stop
  /// string, and except an incomplete UTF-8 sequence before that. Returns
  /// true once a stop string has appeared; the stop string and whatever
  /// follows it are dropped, and later calls add nothing.
  bool push(const std::string &piece, std::string &printable);

  /// Ends the stream without a stop string (end of sequence, token limit):
  /// appends the held-back text to `printable`. Nothing after a stop.
  void finish(std::string &printable);

  /// Whether a stop string has appeared.
  bool stopped() const { return matched >= 0; }

  /// The index in the stop strings of the one that appeared (see push();
  /// the first listed of equal ones), or -1.
  int matchedIndex() const { return matched; }

  /// The text held back so far.
  const std::string &heldBack() const { return pending; }

private:
  std::vector<std::string> stops;
  std::string pending;
  int matched = -1;
};

/// The number of bytes at the end of `text` that begin a UTF-8 sequence
/// without completing it (0 to 3); invalid bytes count as complete.
size_t incompleteUtf8Suffix(const std::string &text);

} // namespace nibble::runtime

#endif // NIBBLE_RUNTIME_STOPSTRINGS_H
