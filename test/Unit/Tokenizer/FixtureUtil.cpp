//===- FixtureUtil.cpp - The tokenizer fixtures and their text ------------===//

#include "FixtureUtil.h"

#include "runtime/Npy.h"
#include "runtime/nibble_runtime.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace nibble {
namespace test {

namespace {

/// The lines of `contents`, each with its '\n' (the last one without, if
/// the text does not end in one), as the fixture script splits files.
std::vector<std::string> splitLines(const std::string &contents) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < contents.size()) {
    size_t newline = contents.find('\n', start);
    size_t end = newline == std::string::npos ? contents.size() : newline + 1;
    lines.push_back(contents.substr(start, end - start));
    start = end;
  }
  return lines;
}

/// Appends code point `cp` as UTF-8 (independent of the runtime's).
void appendCodePoint(uint32_t cp, std::string &out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

/// A cases-file line with \n \t \r \\ \u{HEX} unescaped.
std::string unescapeCase(const std::string &line) {
  std::string out;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] != '\\' || i + 1 >= line.size()) {
      out += line[i];
      continue;
    }
    char next = line[++i];
    if (next == 'n')
      out += '\n';
    else if (next == 't')
      out += '\t';
    else if (next == 'r')
      out += '\r';
    else if (next == '\\')
      out += '\\';
    else if (next == 'u') {
      size_t close = line.find('}', i);
      appendCodePoint(
          static_cast<uint32_t>(std::strtoul(
              line.substr(i + 2, close - i - 2).c_str(), nullptr, 16)),
          out);
      i = close;
    }
  }
  return out;
}

bool readNpyInts(const std::string &name, nibble_dtype dtype,
                 std::vector<uint8_t> &data, std::string &error) {
  runtime::NpyArray array;
  if (runtime::readNpy(inputPath(name), array) != NIBBLE_OK) {
    error = nibble_last_error();
    return false;
  }
  if (array.dtype != dtype || array.shape.size() != 1) {
    error = inputPath(name) + ": unexpected dtype or rank";
    return false;
  }
  data = std::move(array.data);
  return true;
}

} // namespace

std::string inputPath(const std::string &name) {
  return std::string(TOKENIZER_INPUTS_DIR) + "/" + name;
}

std::string modelPath(const std::string &name) {
  const char *cache = std::getenv("NIBBLE_CACHE_DIR");
  std::string dir =
      cache && *cache
          ? std::string(cache)
          : std::string(std::getenv("HOME") ? std::getenv("HOME") : "") +
                "/.cache/nibble";
  return dir + "/models/" + name;
}

bool readWholeFile(const std::string &path, std::string &contents) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return false;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  contents = buffer.str();
  return true;
}

uint64_t fnv64(const std::string &bytes) {
  uint64_t hash = 0xCBF29CE484222325ull;
  for (unsigned char c : bytes)
    hash = (hash ^ c) * 0x100000001B3ull;
  return hash;
}

bool loadTextUnits(size_t maxDocUnits, std::vector<TextUnit> &units,
                   std::string &error) {
  units.clear();
  std::string manifest;
  if (!readWholeFile(inputPath("tokenizer_lines.txt"), manifest)) {
    error = "cannot read " + inputPath("tokenizer_lines.txt");
    return false;
  }
  std::string root;
  std::vector<std::string> cases;
  size_t docUnits = 0;
  std::istringstream lines(manifest);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#')
      continue;
    std::istringstream fields(line);
    std::string kind, file, hash;
    fields >> kind >> file;
    if (kind == "root") {
      root = file;
      continue;
    }
    if (kind == "cases") {
      fields >> hash;
      std::string contents;
      if (!readWholeFile(inputPath(file), contents)) {
        error = "cannot read " + inputPath(file);
        return false;
      }
      char hex[17];
      std::snprintf(hex, sizeof hex, "%016llx",
                    static_cast<unsigned long long>(fnv64(contents)));
      if (hash != hex) {
        error = inputPath(file) +
                " changed since the fixtures were made: rerun "
                "make_tokenizer_fixtures.py";
        return false;
      }
      for (const std::string &caseLine : splitLines(contents)) {
        std::string text = caseLine;
        if (!text.empty() && text.back() == '\n')
          text.pop_back();
        if (!text.empty() && text[0] != '#')
          cases.push_back(unescapeCase(text));
      }
      continue;
    }
    size_t first = 0, last = 0;
    fields >> first >> last >> hash;
    std::string path = root + "/" + file, contents;
    if (!readWholeFile(path, contents)) {
      error = path +
              " is missing: the tokenizer fixtures encode Debian's Python "
              "docs (install python3.11-doc: scripts/setup.sh)";
      return false;
    }
    std::vector<std::string> fileLines = splitLines(contents);
    if (first < 1 || last < first || last > fileLines.size()) {
      error = path + ": lines " + std::to_string(first) + "-" +
              std::to_string(last) + " do not exist (the docs changed?)";
      return false;
    }
    std::string range;
    for (size_t i = first; i <= last; ++i)
      range += fileLines[i - 1];
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx",
                  static_cast<unsigned long long>(fnv64(range)));
    if (hash != hex) {
      error = path + ": lines " + std::to_string(first) + "-" +
              std::to_string(last) +
              " differ from the text the fixtures were made from (another "
              "python3.11-doc version?): rerun make_tokenizer_fixtures.py";
      return false;
    }
    if (kind == "lines") {
      for (size_t i = first; i <= last; ++i)
        if (docUnits++ < maxDocUnits)
          units.push_back(
              {fileLines[i - 1], true, file + ":" + std::to_string(i)});
    } else if (docUnits++ < maxDocUnits) {
      units.push_back(
          {range, true,
           file + ":" + std::to_string(first) + "-" + std::to_string(last)});
    }
  }
  if (cases.empty()) {
    error = "no cases in " + inputPath("tokenizer_lines.txt");
    return false;
  }
  for (int parse = 1; parse >= 0; --parse)
    for (size_t i = 0; i < cases.size(); ++i)
      units.push_back({cases[i], parse == 1,
                       "case " + std::to_string(i + 1) +
                           (parse ? "" : " (special tokens as text)")});
  return true;
}

bool loadIdLists(const std::string &name,
                 std::vector<std::vector<int32_t>> &lists, std::string &error) {
  std::vector<uint8_t> data;
  if (!readNpyInts(name + ".ids.npy", NIBBLE_DTYPE_I32, data, error))
    return false;
  std::vector<int32_t> flat(data.size() / 4);
  std::memcpy(flat.data(), data.data(), flat.size() * 4);
  lists.clear();
  for (size_t i = 0; i < flat.size();) {
    size_t count = static_cast<size_t>(flat[i]);
    if (i + 1 + count > flat.size()) {
      error = inputPath(name + ".ids.npy") + ": truncated";
      return false;
    }
    lists.emplace_back(flat.begin() + i + 1, flat.begin() + i + 1 + count);
    i += 1 + count;
  }
  return true;
}

bool loadDecodeHashes(const std::string &name, std::vector<uint64_t> &hashes,
                      std::string &error) {
  std::vector<uint8_t> data;
  if (!readNpyInts(name + ".decoded.npy", NIBBLE_DTYPE_I64, data, error))
    return false;
  hashes.resize(data.size() / 8);
  std::memcpy(hashes.data(), data.data(), hashes.size() * 8);
  return true;
}

bool loadTransformersDifferences(
    const std::string &name,
    std::vector<std::pair<size_t, std::vector<int32_t>>> &differences,
    std::string &error) {
  std::vector<uint8_t> data;
  if (!readNpyInts(name + ".transformers.npy", NIBBLE_DTYPE_I32, data, error))
    return false;
  std::vector<int32_t> flat(data.size() / 4);
  std::memcpy(flat.data(), data.data(), flat.size() * 4);
  differences.clear();
  for (size_t i = 0; i + 1 < flat.size();) {
    size_t count = static_cast<size_t>(flat[i + 1]);
    differences.emplace_back(
        static_cast<size_t>(flat[i]),
        std::vector<int32_t>(flat.begin() + i + 2,
                             flat.begin() + i + 2 + count));
    i += 2 + count;
  }
  return true;
}

std::string preview(const std::string &text, size_t limit) {
  std::string out;
  for (unsigned char c : text.substr(0, limit)) {
    if (c == '\n')
      out += "\\n";
    else if (c == '\t')
      out += "\\t";
    else if (c == '\r')
      out += "\\r";
    else
      out += static_cast<char>(c);
  }
  return text.size() > limit ? out + "..." : out;
}

std::string formatIds(const std::vector<int32_t> &ids) {
  std::string out = "[";
  for (size_t i = 0; i < ids.size(); ++i)
    out += (i ? ", " : "") + std::to_string(ids[i]);
  return out + "]";
}

} // namespace test
} // namespace nibble
