#!/usr/bin/env python3
"""Makes the tokenizer fixtures: the ids the Hugging Face `tokenizers`
package gives for real text, which TokenizerTests must reproduce id for id.

Usage (needs tokenizers, transformers and gguf; torch is not needed):
  ~/.cache/nibble/venv/bin/pip install tokenizers transformers
  ~/.cache/nibble/venv/bin/python make_tokenizer_fixtures.py [MODELS_DIR]

MODELS_DIR defaults to $NIBBLE_CACHE_DIR/models (~/.cache/nibble/models,
filled by scripts/fetch-models.sh). Writes, next to this script:

  tokenizer_lines.txt   the text: line ranges of Debian's Python 3.11 docs
                        (python3.11-doc, /usr/share/doc/python3.11/html/
                        _sources; not copied here) with an FNV-1a-64 hash of
                        each range's bytes, and tokenizer_cases.txt (hand-
                        written: Unicode, whitespace, digits, special tokens)
  <name>.ids.npy        int32: for each text unit, its id count then its ids
  <name>.decoded.npy    int64: FNV-1a-64 of the reference's decode(ids) of
                        each unit (special tokens rendered)
  <name>.transformers.npy  int32: the units where transformers' GGUF
                        conversion differs (below)
  tiny_*.json           small tokenizer.json files trained here with
                        `tokenizers`, for the tokenizer.json loader

Units, in order: every line of each "lines" range (with its newline), each
"block" range as one unit, then the cases with special tokens parsed, then
the cases with special tokens kept as text (tokenizers'
encode_special_tokens). The tiny tokenizers encode only the first
TINY_DOC_UNITS doc units, then the cases both ways. No special tokens are added
around units (add_special_tokens=False).

The references, built from the GGUF metadata with `tokenizers`:
  smollm2   SmolLM2-135M-Instruct.Q4_1.gguf: GPT-2 byte-level BPE with the
            GGUF's vocabulary and merges and the pre-tokenizer llama.cpp's
            "smollm" stands for (the model's own tokenizer.json:
            Digits(individual_digits) then ByteLevel with the GPT-2 regex),
            control tokens as special tokens.
  gemma3    gemma-3-270m-q4_k_m.gguf: BPE with byte fallback over the
            GGUF's vocabulary as the file spells it, merges recovered from
            the vocabulary in file order (as transformers' converter does),
            ' ' -> U+2581, control tokens as special and user-defined
            tokens (runs of spaces, tabs, newlines; HTML tags) as added
            tokens, matched before the model as llama.cpp and SentencePiece
            match user-defined symbols.
transformers' own GGUF converter (integrations/gguf) differs from these
on a few units: for SmolLM2 it has no Digits step; for Gemma 3 it respells
the space-run tokens as U+2581 runs and merges them by BPE instead of
matching them whole (so runs of more than 16 spaces split differently) and
lets a literal U+2581 in the text merge with them. <name>.transformers.npy
lists those units: for each, its index, its id count and its ids under
transformers' conversion; TokenizerTests checks the difference is exactly
that. If llama_cpp (llama-cpp-python) can be imported, the script also
reports how often llama.cpp's own tokenizer agrees with each reference
(printed only; scripts/setup-reference.sh's virtualenv has it). With
llama-cpp-python 0.3.36 (2026-12-02): smollm2 3511 of 3511 units, gemma3
3510 of 3511. The one difference: llama.cpp retypes tokens that look like an
end of generation ("</s>" among them, user-defined in Gemma 3's file) as
control tokens, so with special tokens kept as text it spells "</s>" out;
the references (and nibble) follow the file's token_type.
"""

import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DOCS = "/usr/share/doc/python3.11/html/_sources"
CASES = "tokenizer_cases.txt"
TINY_DOC_UNITS = 200

# (kind, file, first line, last line), 1-based and inclusive.
RANGES = [
    ("lines", "library/functools.rst.txt", 1, 300),
    ("lines", "library/re.rst.txt", 1, 400),
    ("lines", "library/string.rst.txt", 1, 250),
    ("lines", "library/datetime.rst.txt", 1, 250),
    ("lines", "library/stdtypes.rst.txt", 1, 300),
    ("lines", "library/urllib.parse.rst.txt", 1, 200),
    ("lines", "library/urllib.parse.rst.txt", 560, 620),
    ("lines", "library/random.rst.txt", 1, 647),
    ("lines", "library/itertools.rst.txt", 1, 200),
    ("lines", "library/email.examples.rst.txt", 1, 67),
    ("lines", "library/html.parser.rst.txt", 1, 340),
    ("lines", "library/codecs.rst.txt", 1, 200),
    ("lines", "library/unicodedata.rst.txt", 1, 180),
    ("block", "library/functools.rst.txt", 301, 360),
    ("block", "library/re.rst.txt", 401, 460),
    ("block", "library/stdtypes.rst.txt", 301, 380),
    ("block", "library/typing.rst.txt", 1, 60),
    ("block", "library/decimal.rst.txt", 1, 60),
    ("block", "library/itertools.rst.txt", 201, 260),
    ("block", "tutorial/introduction.rst.txt", 1, 120),
    ("block", "tutorial/controlflow.rst.txt", 1, 120),
]


def fnv64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def file_lines(path):
    """The lines of a file as bytes, each with its '\\n' (the last one
    without, if the file does not end in one)."""
    data = open(path, "rb").read()
    parts = data.split(b"\n")
    lines = [p + b"\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def unescape(line):
    out, i = [], 0
    while i < len(line):
        c = line[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        nxt = line[i + 1]
        if nxt in "ntr\\":
            out.append({"n": "\n", "t": "\t", "r": "\r", "\\": "\\"}[nxt])
            i += 2
        elif nxt == "u":
            end = line.index("}", i)
            out.append(chr(int(line[i + 3:end], 16)))
            i = end + 1
        else:
            raise ValueError(f"bad escape in {line!r}")
    return "".join(out)


def read_cases():
    cases = []
    with open(os.path.join(HERE, CASES), encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            cases.append(unescape(line))
    return cases


def doc_units():
    """The doc units and the manifest lines describing them."""
    units, manifest = [], []
    for kind, name, first, last in RANGES:
        lines = file_lines(os.path.join(DOCS, name))[first - 1:last]
        assert len(lines) == last - first + 1, (name, first, last)
        data = b"".join(lines)
        manifest.append(f"{kind} {name} {first} {last} {fnv64(data):016x}")
        if kind == "lines":
            units += [line.decode("utf-8") for line in lines]
        else:
            units.append(data.decode("utf-8"))
    return units, manifest


# ---------------------------------------------------------------------------
# The references


def read_gguf(path):
    import gguf
    reader = gguf.GGUFReader(path)

    def value(key):
        field = reader.fields.get(key)
        if field is None:
            return None
        if field.types[0] == gguf.GGUFValueType.ARRAY:
            if field.types[-1] == gguf.GGUFValueType.STRING:
                return [bytes(field.parts[i]).decode("utf-8")
                        for i in field.data]
            return [field.parts[i][0].item() for i in field.data]
        if field.types[0] == gguf.GGUFValueType.STRING:
            return bytes(field.parts[field.data[0]]).decode("utf-8")
        return field.parts[field.data[0]][0].item()
    return value


def transformers_tokenizer(path):
    """transformers' own GGUF conversion (its reader needs torch, so the
    metadata is read with gguf and handed to the converter)."""
    from transformers.integrations.gguf.gguf_tokenizer_mapping import (
        GGUF_TOKENIZER_MAPPING, convert_gguf_tokenizer)
    value = read_gguf(path)
    tokenizer_dict = {}
    for key, name in GGUF_TOKENIZER_MAPPING["tokenizer"].items():
        v = value("tokenizer." + key)
        if v is not None:
            tokenizer_dict[name] = v
    backend, _ = convert_gguf_tokenizer(value("general.architecture"),
                                        tokenizer_dict)
    return backend


def smollm_tokenizer(path):
    """GPT-2 byte-level BPE with SmolLM2's tokenizer.json pre-tokenizer."""
    from tokenizers import (AddedToken, Tokenizer, decoders, models,
                            pre_tokenizers)
    value = read_gguf(path)
    tokens, types = value("tokenizer.ggml.tokens"), value(
        "tokenizer.ggml.token_type")
    merges = [tuple(m.split(" ", 1)) for m in value("tokenizer.ggml.merges")]
    tok = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(tokens)},
                               merges=merges))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False)
                            for t, ty in zip(tokens, types) if ty == 3])
    return tok


def gemma_tokenizer(path):
    """SentencePiece-style BPE with byte fallback over the GGUF vocabulary,
    user-defined tokens matched whole before the model."""
    from tokenizers import (AddedToken, Tokenizer, decoders, models,
                            normalizers)
    from transformers.tokenization_utils_base import generate_merges
    value = read_gguf(path)
    tokens, types = value("tokenizer.ggml.tokens"), value(
        "tokenizer.ggml.token_type")
    vocab = {t: i for i, t in enumerate(tokens)}
    merges = generate_merges(vocab, {t: -i for i, t in enumerate(tokens)})
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>",
                               fuse_unk=True, byte_fallback=True))
    tok.normalizer = normalizers.Replace(" ", "\u2581")
    tok.decoder = decoders.Sequence([decoders.Replace("\u2581", " "),
                                     decoders.ByteFallback(), decoders.Fuse()])
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False)
                            for t, ty in zip(tokens, types) if ty == 3])
    tok.add_tokens([AddedToken(t, special=False, normalized=False)
                    for t, ty in zip(tokens, types) if ty == 4])
    return tok


# ---------------------------------------------------------------------------
# Tiny tokenizer.json files


def training_text():
    text = []
    for name in ("tutorial/introduction.rst.txt", "tutorial/controlflow.rst.txt",
                 "library/functools.rst.txt"):
        text += [line.decode("utf-8") for line in
                 file_lines(os.path.join(DOCS, name))]
    return text


def tiny_bytelevel():
    """Byte-level BPE: Split on "::" (isolated), Digits in runs, ByteLevel
    with a prefix space; a BOS template; special and non-special added
    tokens with lstrip/rstrip."""
    from tokenizers import (AddedToken, Tokenizer, decoders, models,
                            pre_tokenizers, processors, trainers)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split("::", behavior="isolated"),
        pre_tokenizers.Digits(individual_digits=False),
        pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=500, special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False)
    tok.train_from_iterator(training_text(), trainer)
    tok.add_special_tokens([AddedToken("[MASK]", special=True, lstrip=True,
                                       normalized=False)])
    tok.add_tokens([AddedToken("<|user|>", special=False, lstrip=True,
                               rstrip=True, normalized=False)])
    bos = tok.token_to_id("<|endoftext|>")
    tok.post_processor = processors.TemplateProcessing(
        single="<|endoftext|> $A", special_tokens=[("<|endoftext|>", bos)])
    return tok


def tiny_fallback():
    """Llama 2 style: Prepend + Replace normalizers, BPE with byte fallback
    and <0xNN> tokens, Split on U+2581 merged with the next piece, decoder
    Replace/ByteFallback/Fuse/Strip."""
    from tokenizers import (Tokenizer, decoders, models, normalizers,
                            pre_tokenizers, processors, trainers)
    trainee = Tokenizer(models.BPE())
    trainee.normalizer = normalizers.Sequence([
        normalizers.Prepend("\u2581"), normalizers.Replace(" ", "\u2581")])
    trainee.pre_tokenizer = pre_tokenizers.Split(
        "\u2581", behavior="merged_with_next")
    trainer = trainers.BpeTrainer(vocab_size=450, show_progress=False)
    trainee.train_from_iterator(training_text(), trainer)
    trained = sorted(trainee.get_vocab().items(), key=lambda kv: kv[1])
    import json
    merges = json.loads(trainee.to_str())["model"]["merges"]
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = len(vocab)
    for token, _ in trained:
        vocab.setdefault(token, len(vocab))
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[tuple(m) for m in merges],
                               unk_token="<unk>", fuse_unk=True,
                               byte_fallback=True))
    tok.normalizer = trainee.normalizer
    tok.pre_tokenizer = trainee.pre_tokenizer
    tok.decoder = decoders.Sequence([
        decoders.Replace("\u2581", " "), decoders.ByteFallback(),
        decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    tok.add_special_tokens(["<unk>", "<s>", "</s>"])
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", special_tokens=[("<s>", 1)])
    return tok


def tiny_llama3():
    """The Llama 3 split regex, then ByteLevel without its regex; merges
    skipped for whole pieces that are tokens (ignore_merges)."""
    from tokenizers import (Regex, Tokenizer, decoders, models,
                            pre_tokenizers, trainers)
    pattern = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+"
               r"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(pattern), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=500, special_tokens=["<|begin_of_text|>", "<|eot_id|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False)
    tok.train_from_iterator(training_text(), trainer)
    return tok


def tiny_metaspace():
    """Metaspace (prepend_scheme "first") after a contiguous Split on "-",
    BPE with an unknown token for unseen characters; Metaspace decoder."""
    from tokenizers import (Tokenizer, decoders, models, pre_tokenizers,
                            trainers)
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split("-", behavior="contiguous"),
        pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first",
                                 split=True)])
    tok.decoder = decoders.Metaspace(replacement="\u2581",
                                     prepend_scheme="first", split=True)
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<unk>"],
                                  show_progress=False)
    tok.train_from_iterator(training_text(), trainer)
    return tok


# ---------------------------------------------------------------------------


def encode_units(tok, units, parse_special=True):
    tok.encode_special_tokens = not parse_special
    out = [tok.encode(u, add_special_tokens=False).ids for u in units]
    tok.encode_special_tokens = False
    return out


def save(name, id_lists, tok):
    flat = []
    for ids in id_lists:
        flat.append(len(ids))
        flat += ids
    np.save(os.path.join(HERE, name + ".ids.npy"), np.array(flat, dtype="<i4"))
    hashes = [fnv64(tok.decode(ids, skip_special_tokens=False).encode("utf-8"))
              for ids in id_lists]
    np.save(os.path.join(HERE, name + ".decoded.npy"),
            np.array(hashes, dtype="<u8").view("<i8"))
    return sum(len(ids) for ids in id_lists)


def iter_units(flat):
    """(index, ids) of a .transformers.npy list."""
    i = 0
    while i < len(flat):
        yield flat[i], flat[i + 2:i + 2 + flat[i + 1]]
        i += 2 + flat[i + 1]


def compare_llama_cpp(path, units, cases, reference, label):
    """How often llama.cpp's tokenizer gives the reference's ids: the units
    with special tokens parsed, then the cases with them as text."""
    try:
        import llama_cpp
    except ImportError:
        return
    model = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
    texts = [(u, True) for u in units] + [(c, False) for c in cases]
    same = sum(model.tokenize(text.encode("utf-8"), add_bos=False,
                              special=special) == ids
               for (text, special), ids in zip(texts, reference))
    print(f"  llama.cpp {llama_cpp.__version__} agrees with the {label} "
          f"reference on {same} of {len(texts)} units")


def main():
    models_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.environ.get("NIBBLE_CACHE_DIR",
                       os.path.expanduser("~/.cache/nibble")), "models")
    import tokenizers
    units, manifest = doc_units()
    cases = read_cases()
    version = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", "python3.11-doc"],
        capture_output=True, text=True).stdout or "unknown"
    cases_bytes = open(os.path.join(HERE, CASES), "rb").read()
    with open(os.path.join(HERE, "tokenizer_lines.txt"), "w") as f:
        f.write("# The text of the tokenizer fixtures, written by "
                "make_tokenizer_fixtures.py.\n"
                "# Ranges of Debian python3.11-doc " + version + " (lines "
                "1-based, inclusive) and the FNV-1a-64\n"
                "# of their bytes; 'lines': one unit per line, 'block': one "
                "unit. Then the cases file.\n"
                f"# Made with tokenizers {tokenizers.__version__}.\n")
        f.write(f"root {DOCS}\n")
        f.write("\n".join(manifest) + "\n")
        f.write(f"cases {CASES} {fnv64(cases_bytes):016x}\n")
    print(f"{len(units)} doc units, {len(cases)} cases "
          f"(tokenizers {tokenizers.__version__})")

    smollm_path = os.path.join(models_dir, "SmolLM2-135M-Instruct.Q4_1.gguf")
    gemma_path = os.path.join(models_dir, "gemma-3-270m-q4_k_m.gguf")
    all_units = units + cases
    for name, path, build in (("smollm2", smollm_path, smollm_tokenizer),
                              ("gemma3", gemma_path, gemma_tokenizer)):
        tok = build(path)
        parsed = encode_units(tok, all_units)
        literal = encode_units(tok, cases, parse_special=False)
        count = save(name, parsed + literal, tok)
        print(f"{name}: {len(parsed) + len(literal)} units, {count} ids")
        converted = transformers_tokenizer(path)
        differ = []
        for index, (ours, theirs) in enumerate(zip(
                parsed + literal,
                encode_units(converted, all_units) +
                encode_units(converted, cases, parse_special=False))):
            if ours != theirs:
                differ += [index, len(theirs)] + theirs
        np.save(os.path.join(HERE, name + ".transformers.npy"),
                np.array(differ, dtype="<i4"))
        print(f"  transformers' GGUF conversion differs on "
              f"{sum(1 for _ in iter_units(differ))} units")
        compare_llama_cpp(path, all_units, cases, parsed + literal, name)

    tiny_units = units[:TINY_DOC_UNITS] + cases
    for name, build in (("tiny_bytelevel", tiny_bytelevel),
                        ("tiny_fallback", tiny_fallback),
                        ("tiny_llama3", tiny_llama3),
                        ("tiny_metaspace", tiny_metaspace)):
        tok = build()
        tok.save(os.path.join(HERE, name + ".json"), pretty=False)
        parsed = encode_units(tok, tiny_units)
        literal = encode_units(tok, cases, parse_special=False)
        count = save(name, parsed + literal, tok)
        print(f"{name}: {tok.get_vocab_size()} tokens, "
              f"{len(parsed) + len(literal)} units, {count} ids")


if __name__ == "__main__":
    main()
