//===- TokenizerJsonFuzzer.cpp - Fuzzing JSON and tokenizer.json loading --===//
//
// Feeds the input to runtime::parseJson and to Tokenizer::loadJson (what
// the runtime reads a Hugging Face tokenizer.json with). For JSON it
// accepts: every object member is found by its key. For a tokenizer it
// accepts: a fixed multi-script string, with special tokens parsed and
// not, encodes to ids inside the vocabulary; decoding them token by token
// with TokenStreamDecoder gives exactly decode(), each piece ending on a
// UTF-8 boundary whenever the whole is valid UTF-8.
//
//===----------------------------------------------------------------------===//

#include "fuzz/FuzzUtil.h"
#include "runtime/Json.h"
#include "runtime/Tokenizer.h"
#include "runtime/Unicode.h"

#include <string>
#include <vector>

using nibble::fuzz::fail;
using namespace nibble::runtime;

namespace {

/// Looks every member of every object up by its key (the first member with
/// a key is the one find returns; keys are unique).
void checkJson(const JsonValue &value) {
  if (value.isObject()) {
    for (size_t i = 0; i < value.size(); ++i)
      if (value.find(value.key(i)) != &value[i])
        fail("find() does not return the member of its key");
  }
  if (value.isObject() || value.isArray())
    for (size_t i = 0; i < value.size(); ++i)
      checkJson(value[i]);
  if (value.isString() &&
      !isValidUtf8(value.asString().data(), value.asString().size()))
    fail("an accepted string is not valid UTF-8");
}

const char kText[] =
    "Hello, World! it's 12345 \xc3\xa9t\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac "
    "\xf0\x9f\x99\x82  \t\n\n<s> </s> <|endoftext|> <unk> a--b \xe2\x96\x81x";

void checkTokenizer(const Tokenizer &tokenizer) {
  const std::string text = kText;
  for (int mode = 0; mode < 4; ++mode) {
    std::vector<int32_t> ids = tokenizer.encode(text, mode & 1, mode & 2);
    for (int32_t id : ids)
      if (id < 0 || id >= tokenizer.vocabSize())
        fail("encode() returned an id outside the vocabulary");
    for (bool render : {false, true}) {
      std::string whole = tokenizer.decode(ids, render);
      bool valid = isValidUtf8(whole.data(), whole.size());
      TokenStreamDecoder stream(tokenizer, render);
      std::string joined;
      for (int32_t id : ids) {
        std::string piece = stream.push(id);
        if (valid && !isValidUtf8(piece.data(), piece.size()))
          fail("a streamed piece of valid text is not valid UTF-8");
        joined += piece;
      }
      joined += stream.finish();
      if (joined != whole)
        fail("streamed decoding differs from decode()");
    }
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *text = reinterpret_cast<const char *>(data);
  JsonValue root;
  if (parseJson(text, size, root) == NIBBLE_OK)
    checkJson(root);
  Tokenizer tokenizer;
  if (tokenizer.loadJson(text, size, "fuzz.json") == NIBBLE_OK)
    checkTokenizer(tokenizer);
  else if (tokenizer.isLoaded())
    fail("a failed load left a tokenizer");
  return 0;
}
