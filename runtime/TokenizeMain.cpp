//===- TokenizeMain.cpp - nibble-tokenize: text to token ids and back -----===//
//
//   nibble-tokenize MODEL.gguf|tokenizer.json [--text T | --file F] [--ids]
//                   [--no-add-special] [--parse-special]
//   nibble-tokenize MODEL.gguf|tokenizer.json --decode ID...
//   nibble-tokenize MODEL.gguf|tokenizer.json --info
//
// Encodes the text (--text, --file, else stdin) and prints one token per
// line, "ID<TAB>TEXT" with TEXT as the vocabulary spells it (escaped: \n,
// \t, \\, \xNN for other control bytes), or with --ids only the ids on one
// line separated by spaces. --decode prints the text of the ids (control
// tokens included) and a newline. --info prints what was loaded. Exit
// status 0, 1 when the tokenizer cannot be loaded or a file read, 2 for a
// usage error. LLVM-free, like the rest of the runtime.
//
//===----------------------------------------------------------------------===//

#include "runtime/Tokenizer.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using nibble::runtime::Tokenizer;

namespace {

constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

int usage(const char *program) {
  std::fprintf(
      stderr,
      "usage: %s MODEL.gguf|tokenizer.json [--text T | --file F] [--ids]\n"
      "          [--no-add-special] [--parse-special]\n"
      "       %s MODEL.gguf|tokenizer.json --decode ID...\n"
      "       %s MODEL.gguf|tokenizer.json --info\n",
      program, program, program);
  return kExitUsage;
}

/// Reads all of `stream` into `out`; false on a read error.
bool readStream(std::FILE *stream, std::string &out) {
  char buffer[65536];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, stream)) > 0)
    out.append(buffer, n);
  return !std::ferror(stream);
}

/// `text` with newlines, tabs, backslashes and other control bytes escaped.
std::string escape(const std::string &text) {
  std::string out;
  for (unsigned char c : text) {
    if (c == '\n')
      out += "\\n";
    else if (c == '\t')
      out += "\\t";
    else if (c == '\\')
      out += "\\\\";
    else if (c < 0x20 || c == 0x7F) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02X", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

} // namespace

int main(int argc, char **argv) {
  const char *program = argc > 0 ? argv[0] : "nibble-tokenize";
  if (argc < 2 || argv[1][0] == '-')
    return argc >= 2 && std::strcmp(argv[1], "--help") == 0
               ? (usage(program), 0)
               : usage(program);
  std::string text, file;
  bool haveText = false, idsOnly = false, addSpecial = true,
       parseSpecial = false, info = false, decode = false;
  std::vector<int32_t> decodeIds;
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if (decode) {
      char *end;
      errno = 0;
      long id = std::strtol(argv[i], &end, 10);
      if (*argv[i] == '\0' || *end != '\0' || errno != 0 || id < 0 ||
          id > INT32_MAX) {
        std::fprintf(stderr, "%s: error: --decode: '%s' is not a token id\n",
                     program, argv[i]);
        return kExitUsage;
      }
      decodeIds.push_back(static_cast<int32_t>(id));
    } else if (arg == "--text" && i + 1 < argc) {
      text = argv[++i];
      haveText = true;
    } else if (arg == "--file" && i + 1 < argc) {
      file = argv[++i];
    } else if (arg == "--ids") {
      idsOnly = true;
    } else if (arg == "--no-add-special") {
      addSpecial = false;
    } else if (arg == "--parse-special") {
      parseSpecial = true;
    } else if (arg == "--info") {
      info = true;
    } else if (arg == "--decode") {
      decode = true;
    } else {
      std::fprintf(stderr, "%s: error: unknown or incomplete option '%s'\n",
                   program, arg.c_str());
      return usage(program);
    }
  }
  if ((haveText && !file.empty()) ||
      ((haveText || !file.empty() || idsOnly) && (decode || info))) {
    std::fprintf(stderr, "%s: error: conflicting options\n", program);
    return usage(program);
  }

  Tokenizer tokenizer;
  if (tokenizer.open(argv[1]) != NIBBLE_OK) {
    std::fprintf(stderr, "%s: error: %s\n", program, nibble_last_error());
    return kExitError;
  }
  if (info) {
    std::printf("%s\nvocabulary: %d ids\nbos: %d%s\neos: %d%s\n",
                tokenizer.description().c_str(), tokenizer.vocabSize(),
                tokenizer.bosId(), tokenizer.addsBos() ? " (added)" : "",
                tokenizer.eosId(), tokenizer.addsEos() ? " (added)" : "");
    return 0;
  }
  if (decode) {
    std::string decoded = tokenizer.decode(decodeIds);
    std::fwrite(decoded.data(), 1, decoded.size(), stdout);
    std::fputc('\n', stdout);
    return 0;
  }
  if (!haveText) {
    std::FILE *stream = file.empty() ? stdin : std::fopen(file.c_str(), "rb");
    if (!stream || !readStream(stream, text)) {
      std::fprintf(stderr, "%s: error: cannot read %s: %s\n", program,
                   file.empty() ? "stdin" : file.c_str(), std::strerror(errno));
      return kExitError;
    }
    if (stream != stdin)
      std::fclose(stream);
  }

  std::vector<int32_t> ids = tokenizer.encode(text, addSpecial, parseSpecial);
  if (idsOnly) {
    for (size_t i = 0; i < ids.size(); ++i)
      std::printf(i ? " %d" : "%d", ids[i]);
    std::printf("\n");
  } else {
    for (int32_t id : ids)
      std::printf("%d\t%s\n", id, escape(tokenizer.tokenText(id)).c_str());
  }
  return std::fflush(stdout) == 0 ? 0 : kExitError;
}
