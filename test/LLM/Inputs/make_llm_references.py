#!/usr/bin/env python3
"""Reference logits, greedy continuations and perplexities of the two GGUF LLMs.

Regenerates the committed fixtures the nibble LLM tests compare against, so
the test suite needs no torch. Run with the reference virtualenv
(scripts/setup-reference.sh), never by the test command:

    ~/.cache/nibble/ref-venv/bin/python test/LLM/Inputs/make_llm_references.py
        [--model smollm2-135m|gemma3-270m] [--skip-llamacpp] [--windows 16]

Models (from $NIBBLE_CACHE_DIR/models, default ~/.cache/nibble/models, put
there by scripts/fetch-models.sh):
  smollm2-135m  SmolLM2-135M-Instruct.Q4_1.gguf  (llama; GGUF add_bos_token
                false: no BOS anywhere)
  gemma3-270m   gemma-3-270m-q4_k_m.gguf         (gemma3; add_bos_token true:
                BOS = <bos> = 2 first)

Outputs, next to this script: <model>-reference.npz, <model>-reference.json
(the numbers and the prompt texts), and REFERENCES.md (made from every
<model>-reference.json present).

The float baseline
------------------
The GGUF's own weights, dequantized to float32 by transformers:
AutoModelForCausalLM.from_pretrained(models_dir, gguf_file=...), which reads
the GGUF with the gguf package and dequantizes every tensor with
gguf.dequantize (both architectures, llama and gemma3, are supported by this
transformers). What the loader undoes, and this script checks against the raw
GGUF tensors:
  * llama: llama.cpp's converter permutes the rows of attn_q/attn_k (it
    interleaves the two rotary halves of each head for ggml's "normal" RoPE);
    the loader applies the reverse permutation, so q_proj/k_proj are in HF
    order (rotate_half RoPE). SmolLM2 has no output.weight: tied, lm_head =
    token_embd (Q8_0).
  * gemma3: llama.cpp's converter stores every RMSNorm weight as (1 + w)
    (Gemma's norm computes x * (1 + w)); the loader subtracts 1 from every
    tensor whose name contains "norm.weight" (attn_norm, post_attention_norm,
    ffn_norm, post_ffw_norm, attn_q_norm, attn_k_norm, output_norm), so HF's
    Gemma3RMSNorm, which multiplies by (1 + w), sees the original w. In other
    words the GGUF value IS the multiplier. The input embedding is scaled by
    sqrt(hidden_size) = sqrt(640) after the lookup (HF and llama.cpp alike);
    the tied lm_head uses the unscaled token_embd. Config comes from GGUF
    metadata plus Gemma3TextConfig defaults: query_pre_attn_scalar 256
    (scale 1/16), sliding window 512 (layers 5, 11, 17 global, the others
    local, pattern 6), rope theta 1e6 global / 1e4 local, no soft-capping,
    gelu_pytorch_tanh. With n_ctx = 512 the sliding window masks nothing
    (a query sees keys at distance <= 511 < 512).
Computation in float32 (torch CPU, eager attention, 2 threads); the same
weights in float64 once, for the float32 noise.

Prompts
-------
Five prompts (plain text, code, chat in the model's own format with its
special tokens, a long ~200-token paragraph, Unicode). Their ids are the HF
tokenizer built from the GGUF (AutoTokenizer.from_pretrained(gguf_file=...))
on the text with add_special_tokens=False, preceded by BOS when the GGUF says
add_bos_token (Gemma: yes; SmolLM2: no); special-token strings in the text
(<|im_start|>, <start_of_turn>, ...) are parsed as the special tokens. For
each prompt: the full next-token logits at the last position (float32), and
the greedy continuation of 32 tokens: argmax of the raw logits, ties to the
lowest id (torch.argmax), fed back with the KV cache, NOT stopped at EOS
(so every row has 32 ids), plus the margin top1 - top2 of the logits at each
step (a small margin says float noise could flip that step).

Perplexity (llama.cpp's `perplexity` tool, tools/perplexity/perplexity.cpp,
default mode, n_ctx 512)
------------------------------------------------------------------------------
  1. text = the bytes of /usr/share/doc/python3.11/html/_sources/tutorial/
     *.rst.txt concatenated in sorted filename order, as is, decoded as
     UTF-8.
  2. tokens = tokenize(text) once, with BOS first if the model adds BOS, no
     special-token parsing in the text (llama.cpp: common_tokenize(ctx, text,
     add_special=true, parse_special=false); here the HF tokenizer, which
     would parse special-token strings, but the text holds none of them
     (checked: text_special_token_strings in the JSON), and its ids are
     checked against llama.cpp's tokenizer when llama-cpp-python is present).
     For SmolLM2 the HF tokenizer gets back the Digits pre-tokenizer that
     transformers' GGUF converter drops (fix_smollm_pretokenizer); without it
     the whole text is 68537 tokens instead of 68341, differing first at token
     9674 (whitespace before digits), after the 16 windows.
  3. windows k = 0..15: tokens[512k : 512k + 512] (non-overlapping); when the
     model adds BOS, the window's first token is replaced by BOS (so window 0
     is unchanged, the others lose their first text token).
  4. each window is evaluated from an empty cache at positions 0..511; the
     scored positions are j = 256..510 (first = n_ctx/2): the logits at j
     predict window token j+1, NLL = logsumexp(logits_j) - logits_j[tok]
     (computed in float64 from the float32 logits). 255 tokens a window, 4080
     in all.
  5. perplexity = exp(sum of the 16 window NLL sums / 4080).
llama.cpp (llama-cpp-python, the GGUF's OWN quantized weights, not the
dequantized ones): Llama(model_path, n_ctx=512, logits_all=True, n_threads=2),
and for each of the same 16 windows (the same token ids) reset() then
eval(window), logits = scores[0:512]; same scoring. For the prompts:
eval(ids), scores[len(ids) - 1].

npz keys (<model>-reference.npz)
--------------------------------
  n_ctx                 int32 []            512
  add_bos               bool  []
  bos_id                int32 []            -1 when no BOS is added
  eos_id                int32 []
  prompt_{i}_text       uint8 [bytes]       UTF-8 text of prompt i (0..4)
  prompt_{i}_ids        int32 [n_i]         ids as evaluated (BOS included)
  prompt_logits         float32 [5, vocab]  last-position logits, float
  prompt_greedy         int32 [5, 32]       greedy continuation, float
  prompt_greedy_margin  float32 [5, 32]     top1 - top2 logit at each step
  prompt_f64_relmaxabs  float64 [5]         float32 vs float64 logits,
                                            max|a-b| / max|b|
  ppl_tokens            int32 [16, 512]     the windows as evaluated
  ppl_nll               float32 [16, 255]   float NLL of each scored token
  ppl_window_nll        float64 [16]        float NLL sums per window
  ppl                   float64 []          float perplexity
  ppl_count             int32 []            scored tokens (4080)
  text_n_tokens         int32 []            tokens of the whole text
  llamacpp_prompt_topk_ids    int32 [5, 1024]   llama.cpp last-position
  llamacpp_prompt_topk_logits float32 [5, 1024] logits: the 1024 largest, in
                                            descending order (information
                                            only: full rows would take Gemma's
                                            file past 6 MB)
  llamacpp_prompt_relmaxabs   float64 [5]   llama.cpp vs float last-position
                                            logits over the full rows,
                                            max|a-b| / max|b|
  llamacpp_ppl_nll      float32 [16, 255]
  llamacpp_ppl_window_nll float64 [16]
  llamacpp_ppl          float64 []
(the llamacpp_* keys are absent with --skip-llamacpp.)
"""

import argparse
import glob
import json
import math
import os
import platform
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE_DIR = os.environ.get("NIBBLE_CACHE_DIR",
                           os.path.join(os.path.expanduser("~"), ".cache", "nibble"))
MODELS_DIR = os.path.join(CACHE_DIR, "models")
TEXT_GLOB = "/usr/share/doc/python3.11/html/_sources/tutorial/*.rst.txt"
N_CTX = 512
N_WINDOWS = 16
N_GREEDY = 32
TOPK = 1024
THREADS = 2

LONG_TEXT = (
    "The history of computing is a story of abstraction. Early machines were "
    "programmed by rewiring panels and flipping switches, and every program "
    "was tied to the hardware it ran on. Assembly languages gave names to "
    "instructions, and compilers later translated high-level languages into "
    "those instructions, so that a programmer could think about loops, "
    "functions and data structures instead of registers and memory "
    "addresses. Operating systems hid the details of disks, terminals and "
    "networks behind files and sockets. Each layer made the next generation "
    "of software possible, but each also cost something: performance, "
    "predictability, or the ability to understand what the machine was "
    "really doing. Today machine learning compilers repeat this pattern. "
    "They take a model described as a graph of tensor operations, choose "
    "how to split the work across cores and caches, decide which numbers can "
    "be stored in fewer bits without hurting accuracy, and emit code that "
    "would take an expert weeks to write by hand. The question is always the "
    "same: how much"
)

MODELS = {
    "smollm2-135m": dict(
        file="SmolLM2-135M-Instruct.Q4_1.gguf",
        chat=("<|im_start|>system\nYou are a helpful AI assistant named "
              "SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\n"
              "What is the tallest mountain in Europe?<|im_end|>\n"
              "<|im_start|>assistant\n"),
    ),
    "gemma3-270m": dict(
        file="gemma-3-270m-q4_k_m.gguf",
        chat=("<start_of_turn>user\nWhat is the tallest mountain in Europe?"
              "<end_of_turn>\n<start_of_turn>model\n"),
    ),
}


def prompts_for(name):
    return [
        ("plain", "The capital of France is"),
        ("code", "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci "
                 "number.\"\"\"\n    if n < 2:\n        return n\n"),
        ("chat", MODELS[name]["chat"]),
        ("long", LONG_TEXT),
        # Chosen among a few for greedy margins >= 0.05 over the first 19
        # steps on both models (Cyrillic, Greek, Japanese, Chinese with a
        # full-width comma, an emoji, curly quotes).
        ("unicode", "Привет, мир! Καλημέρα κόσμε! こんにちは世界! 你好，世界! 🌍 "
                    "The phrase “hello, world” in"),
    ]


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def rel_max_abs(a, b):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def nll_rows(logits, targets):
    """NLL of targets[i] under logits[i] (float64)."""
    l = torch.as_tensor(logits).to(torch.float64)
    t = torch.as_tensor(np.asarray(targets, np.int64))
    lse = torch.logsumexp(l, dim=-1)
    return (lse - l.gather(1, t[:, None])[:, 0]).numpy()


def eval_text():
    data = b"".join(open(p, "rb").read() for p in sorted(glob.glob(TEXT_GLOB)))
    return data.decode("utf-8")


def make_windows(tokens, add_bos, bos_id, n):
    assert len(tokens) >= n * N_CTX, (len(tokens), n)
    w = np.array([tokens[k * N_CTX:(k + 1) * N_CTX] for k in range(n)],
                 dtype=np.int32)
    if add_bos:
        w[:, 0] = bos_id
    return w


def score_window(logits_256_to_511, window):
    """logits rows for positions 256..510 (or ..511; the last is ignored)."""
    first = N_CTX // 2
    rows = np.asarray(logits_256_to_511)[: N_CTX - first - 1]
    return nll_rows(rows, window[first + 1:])


# ---------------------------------------------------------------------------
# transformers


def load_hf(path_file):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    tok = AutoTokenizer.from_pretrained(MODELS_DIR, gguf_file=path_file)
    fix_smollm_pretokenizer(tok, path_file)
    model = AutoModelForCausalLM.from_pretrained(
        MODELS_DIR, gguf_file=path_file, dtype=torch.float32,
        attn_implementation="eager")
    model.eval()
    return tok, model


def fix_smollm_pretokenizer(tok, path_file):
    """transformers' GGUF tokenizer converter ignores tokenizer.ggml.pre =
    "smollm": it builds ByteLevel(use_regex=True) alone, without the
    Digits(individual_digits=True) split that comes first in SmolLM2's own
    tokenizer.json and in llama.cpp's smollm pre-tokenizer. Digits are single
    tokens either way (the vocab has no digit merges), but whitespace before a
    digit differs: "\n    100" is 'ĊĠĠĠ' 'Ġ' '1' '0' '0' without the split and
    'ĊĠĠĠĠ' '1' '0' '0' with it (llama.cpp). Restore the split."""
    import gguf
    from tokenizers import pre_tokenizers
    reader = gguf.GGUFReader(os.path.join(MODELS_DIR, path_file))
    field = reader.fields.get("tokenizer.ggml.pre")
    if field is None or field.contents() != "smollm":
        return
    backend = tok.backend_tokenizer
    assert "Digits" not in repr(backend.pre_tokenizer), backend.pre_tokenizer
    backend.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True,
                                 use_regex=True)])


def check_hf_weights(model, gguf_path):
    """The loader's conversions, checked against the raw GGUF tensors."""
    import gguf
    reader = gguf.GGUFReader(gguf_path)
    raw = {t.name: t for t in reader.tensors}

    def deq(name):
        t = raw[name]
        return gguf.dequantize(t.data, t.tensor_type).astype(np.float32)

    arch = model.config.model_type
    sd = model.state_dict()
    notes = []
    if arch == "llama":
        nh = model.config.num_attention_heads
        nkv = model.config.num_key_value_heads
        for gname, hname, heads in (("blk.0.attn_q.weight", "model.layers.0.self_attn.q_proj.weight", nh),
                                    ("blk.0.attn_k.weight", "model.layers.0.self_attn.k_proj.weight", nkv)):
            g = deq(gname)
            h = sd[hname].numpy()
            # llama.cpp's permute: rows of head i go (2, d/2) -> (d/2, 2).
            d = g.shape[0] // heads
            perm = h.reshape(heads, 2, d // 2, -1).swapaxes(1, 2).reshape(g.shape)
            assert np.array_equal(perm, g), gname
            assert not np.array_equal(h, g), gname
        notes.append("llama: q_proj/k_proj = GGUF attn_q/attn_k with llama.cpp's "
                     "RoPE row permutation undone (checked)")
        assert "output.weight" not in raw
        assert model.config.tie_word_embeddings
        assert np.array_equal(sd["lm_head.weight"].numpy(), deq("token_embd.weight"))
        notes.append("llama: tied lm_head = token_embd (checked)")
    elif arch == "gemma3_text":
        for gname, hname in (("output_norm.weight", "model.norm.weight"),
                             ("blk.0.attn_norm.weight", "model.layers.0.input_layernorm.weight"),
                             ("blk.0.attn_q_norm.weight", "model.layers.0.self_attn.q_norm.weight"),
                             ("blk.0.attn_k_norm.weight", "model.layers.0.self_attn.k_norm.weight"),
                             ("blk.0.post_attention_norm.weight", "model.layers.0.post_attention_layernorm.weight"),
                             ("blk.0.ffn_norm.weight", "model.layers.0.pre_feedforward_layernorm.weight"),
                             ("blk.0.post_ffw_norm.weight", "model.layers.0.post_feedforward_layernorm.weight")):
            g = deq(gname)
            h = sd[hname].numpy()
            assert np.allclose(h + 1, g, rtol=0, atol=1e-6), gname
        notes.append("gemma3: HF norm weights = GGUF norm weights - 1 for all 7 "
                     "kinds of norm (checked); the GGUF value is the multiplier")
        assert np.array_equal(sd["model.layers.0.self_attn.q_proj.weight"].numpy(),
                              deq("blk.0.attn_q.weight"))
        notes.append("gemma3: q/k weights are NOT permuted (checked equal)")
        emb = model.model.embed_tokens
        assert abs(float(emb.embed_scale) - math.sqrt(model.config.hidden_size)) < 1e-4
        notes.append(f"gemma3: embed_scale = {float(emb.embed_scale):.6f} = sqrt(hidden) (checked)")
        assert np.array_equal(sd["lm_head.weight"].numpy(), deq("token_embd.weight"))
        notes.append("gemma3: tied lm_head = unscaled token_embd (checked)")
    return notes


def hf_last_logits(model, ids):
    with torch.no_grad():
        out = model(torch.tensor([ids]), logits_to_keep=1)
    return out.logits[0, -1].to(torch.float32).numpy().copy()


def hf_greedy(model, ids, n):
    toks, margins = [], []
    with torch.no_grad():
        out = model(torch.tensor([ids]), use_cache=True, logits_to_keep=1)
        for step in range(n):
            l = out.logits[0, -1]
            top = torch.topk(l, 2)
            t = int(torch.argmax(l))
            toks.append(t)
            margins.append(float(top.values[0] - top.values[1]))
            if step + 1 < n:
                out = model(torch.tensor([[t]]), past_key_values=out.past_key_values,
                            use_cache=True, logits_to_keep=1)
    return toks, margins


def hf_window_nll(model, window):
    with torch.no_grad():
        out = model(torch.tensor(window[None].astype(np.int64)),
                    logits_to_keep=N_CTX - N_CTX // 2)
    return score_window(out.logits[0].numpy(), window)


# ---------------------------------------------------------------------------
# llama.cpp


def load_llamacpp(path):
    from llama_cpp import Llama
    return Llama(model_path=path, n_ctx=N_CTX, logits_all=True,
                 n_threads=THREADS, n_threads_batch=THREADS, verbose=False)


def llamacpp_eval(llm, ids):
    llm.reset()
    llm.eval([int(x) for x in ids])
    return np.array(llm.scores[: len(ids)], dtype=np.float32)


# ---------------------------------------------------------------------------


def run_model(name, args):
    spec = MODELS[name]
    path = os.path.join(MODELS_DIR, spec["file"])
    summary = {"model": name, "gguf": spec["file"], "timings_s": {}}
    npz = {}
    T = summary["timings_s"]

    t0 = time.time()
    tok, model = load_hf(spec["file"])
    T["hf_load"] = round(time.time() - t0, 1)
    log(f"{name}: loaded in transformers ({T['hf_load']} s)")
    summary["hf_loader_checks"] = check_hf_weights(model, path)

    import gguf
    reader = gguf.GGUFReader(path)
    arch = reader.fields["general.architecture"].contents()
    add_bos = bool(reader.fields["tokenizer.ggml.add_bos_token"].contents())
    bos_id = int(reader.fields["tokenizer.ggml.bos_token_id"].contents())
    eos_id = int(reader.fields["tokenizer.ggml.eos_token_id"].contents())
    summary.update(arch=arch, add_bos=add_bos,
                   bos_id=bos_id if add_bos else -1, eos_id=eos_id,
                   vocab=int(model.config.vocab_size))
    npz["n_ctx"] = np.int32(N_CTX)
    npz["add_bos"] = np.bool_(add_bos)
    npz["bos_id"] = np.int32(bos_id if add_bos else -1)
    npz["eos_id"] = np.int32(eos_id)

    def encode(text):
        return ([bos_id] if add_bos else []) + tok.encode(text, add_special_tokens=False)

    # ---- prompts (float32)
    t0 = time.time()
    prompts = prompts_for(name)
    ids_list, logits32, greedy, margins = [], [], [], []
    summary["prompts"] = []
    for i, (kind, text) in enumerate(prompts):
        ids = encode(text)
        default_ids = tok(text)["input_ids"]
        ids_list.append(ids)
        logits32.append(hf_last_logits(model, ids))
        g, m = hf_greedy(model, ids, N_GREEDY)
        greedy.append(g)
        margins.append(m)
        npz[f"prompt_{i}_text"] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
        npz[f"prompt_{i}_ids"] = np.asarray(ids, dtype=np.int32)
        summary["prompts"].append(dict(
            kind=kind, text=text, n_tokens=len(ids),
            hf_default_call_same_ids=(default_ids == ids),
            greedy_text=tok.decode(g),
            greedy_min_margin=round(min(m), 4),
            greedy_hits_eos=(eos_id in g),
            argmax=int(np.argmax(logits32[-1]))))
        log(f"{name}: prompt {i} ({kind}, {len(ids)} tokens): "
            f"greedy {tok.decode(g)!r}")
    npz["prompt_logits"] = np.stack(logits32).astype(np.float32)
    npz["prompt_greedy"] = np.asarray(greedy, dtype=np.int32)
    npz["prompt_greedy_margin"] = np.asarray(margins, dtype=np.float32)
    T["prompts_f32"] = round(time.time() - t0, 1)

    # ---- perplexity (float32)
    t0 = time.time()
    text = eval_text()
    tokens = encode(text)
    summary["text_special_token_strings"] = sorted(
        t for t in tok.all_special_tokens if t and t in text)
    assert not summary["text_special_token_strings"], summary["text_special_token_strings"]
    summary["text_chars"] = len(text)
    summary["text_n_tokens"] = len(tokens)
    npz["text_n_tokens"] = np.int32(len(tokens))
    windows = make_windows(tokens, add_bos, bos_id, args.windows)
    npz["ppl_tokens"] = windows
    nll = []
    for k in range(args.windows):
        nll.append(hf_window_nll(model, windows[k]))
        log(f"{name}: window {k}: NLL sum {nll[-1].sum():.4f}")
    nll = np.stack(nll)
    count = nll.size
    ppl = math.exp(float(nll.sum()) / count)
    npz["ppl_nll"] = nll.astype(np.float32)
    npz["ppl_window_nll"] = nll.sum(axis=1)
    npz["ppl"] = np.float64(ppl)
    npz["ppl_count"] = np.int32(count)
    summary.update(ppl=ppl, ppl_count=count, ppl_windows=args.windows,
                   ppl_window_nll=[float(x) for x in nll.sum(axis=1)])
    T["ppl_f32"] = round(time.time() - t0, 1)
    log(f"{name}: float perplexity {ppl:.4f} over {count} tokens ({T['ppl_f32']} s)")

    # ---- float64: the float32 noise
    if not args.skip_float64:
        t0 = time.time()
        model64 = model.to(torch.float64)
        rels, greedy_same = [], []
        for i, ids in enumerate(ids_list):
            with torch.no_grad():
                l64 = model64(torch.tensor([ids]), logits_to_keep=1).logits[0, -1].numpy()
            rels.append(rel_max_abs(logits32[i], l64))
            g64, _ = hf_greedy(model64, ids, N_GREEDY)
            greedy_same.append(int(sum(a == b for a, b in zip(g64, greedy[i]))))
        npz["prompt_f64_relmaxabs"] = np.asarray(rels, dtype=np.float64)
        nll64 = hf_window_nll(model64, windows[0])
        summary["f64"] = dict(
            prompt_relmaxabs=rels, max_prompt_relmaxabs=max(rels),
            greedy_tokens_equal_f32=greedy_same,
            window0_nll_sum_f64=float(nll64.sum()),
            window0_nll_sum_f32=float(nll[0].sum()),
            window0_nll_max_abs_diff=float(np.max(np.abs(nll64 - nll[0]))))
        model = model64.to(torch.float32)
        T["float64"] = round(time.time() - t0, 1)
        log(f"{name}: float32 vs float64 relative max-abs {max(rels):.3e}")
    del model

    # ---- llama.cpp, the GGUF's own quantization
    if not args.skip_llamacpp:
        t0 = time.time()
        llm = load_llamacpp(path)
        lc = {}
        # Tokenization agreement (llama.cpp's tokenizer vs HF's from the GGUF).
        lc_prompt_ids = [llm.tokenize(t.encode("utf-8"), add_bos=add_bos, special=True)
                         for _, t in prompts]
        lc["prompt_tokenization_equal"] = [a == b for a, b in zip(lc_prompt_ids, ids_list)]
        lc["prompt_tokenization_differences"] = [
            dict(prompt=i, llamacpp=a, hf=b)
            for i, (a, b) in enumerate(zip(lc_prompt_ids, ids_list)) if a != b]
        lc_text = llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=False)
        same = sum(1 for a, b in zip(lc_text, tokens) if a == b)
        first_diff = next((i for i, (a, b) in enumerate(zip(lc_text, tokens)) if a != b), None)
        lc["text_n_tokens"] = len(lc_text)
        lc["text_tokenization_equal"] = lc_text == tokens
        lc["text_first_difference"] = first_diff
        lc["text_windows_equal"] = bool(np.array_equal(
            make_windows(lc_text, add_bos, bos_id, args.windows), windows)) \
            if len(lc_text) >= args.windows * N_CTX else False
        log(f"{name}: llama.cpp tokenization: prompts {lc['prompt_tokenization_equal']}, "
            f"text equal {lc['text_tokenization_equal']} ({len(lc_text)} vs {len(tokens)} tokens, "
            f"first difference at {first_diff}, {same} equal)")

        lp = []
        for i, ids in enumerate(ids_list):
            lp.append(llamacpp_eval(llm, ids)[-1])
        lp = np.stack(lp)
        # The top TOPK of each row (full rows would push Gemma's file past
        # 6 MB); the relative max-abs to the float row is over the full row.
        order = np.argsort(-lp, axis=1, kind="stable")[:, :TOPK]
        npz["llamacpp_prompt_topk_ids"] = order.astype(np.int32)
        npz["llamacpp_prompt_topk_logits"] = np.take_along_axis(lp, order, axis=1).astype(np.float32)
        lc["prompt_relmaxabs_vs_float"] = [rel_max_abs(lp[i], logits32[i]) for i in range(len(lp))]
        npz["llamacpp_prompt_relmaxabs"] = np.asarray(lc["prompt_relmaxabs_vs_float"], np.float64)
        lc["prompt_argmax_equal_float"] = [int(np.argmax(lp[i])) == int(np.argmax(logits32[i]))
                                           for i in range(len(lp))]
        lnll = []
        for k in range(args.windows):
            scores = llamacpp_eval(llm, windows[k])
            lnll.append(score_window(scores[N_CTX // 2:], windows[k]))
            log(f"{name}: llama.cpp window {k}: NLL sum {lnll[-1].sum():.4f}")
        lnll = np.stack(lnll)
        lppl = math.exp(float(lnll.sum()) / lnll.size)
        npz["llamacpp_ppl_nll"] = lnll.astype(np.float32)
        npz["llamacpp_ppl_window_nll"] = lnll.sum(axis=1)
        npz["llamacpp_ppl"] = np.float64(lppl)
        lc.update(ppl=lppl, ppl_window_nll=[float(x) for x in lnll.sum(axis=1)])
        summary["llamacpp"] = lc
        T["llamacpp"] = round(time.time() - t0, 1)
        log(f"{name}: llama.cpp perplexity {lppl:.4f} ({T['llamacpp']} s)")
        del llm

    out = os.path.join(HERE, f"{name}-reference.npz")
    np.savez_compressed(out, **npz)
    summary["npz_bytes"] = os.path.getsize(out)
    summary["npz_keys"] = {k: [str(v.dtype), list(np.shape(v))] for k, v in sorted(npz.items())}
    with open(os.path.join(HERE, f"{name}-reference.json"), "w") as f:
        json.dump(summary, f, indent=1, ensure_ascii=False)
        f.write("\n")
    log(f"{name}: wrote {out} ({summary['npz_bytes']} bytes)")


NOTES = [
    "- The float baseline is the dequantized GGUF, not the original "
    "bf16 checkpoint: its perplexity includes the 4-bit weight error; llama.cpp "
    "runs the same quantized weights with its own kernels (activations "
    "quantized to 8 bits for the dot products, f16 KV cache), hence its small "
    "difference from the float baseline.",
    "- Tokenization: transformers' GGUF tokenizer for SmolLM2 (pre \"smollm\") "
    "lacks the individual-digit split of SmolLM2's tokenizer and of llama.cpp; "
    "the script restores it (`fix_smollm_pretokenizer`), after which HF and "
    "llama.cpp agree on the whole text. For Gemma 3, HF's GGUF tokenizer and "
    "llama.cpp differ only on runs of more than 31 spaces (the GGUF has "
    "user-defined whitespace tokens of 2..31 spaces; llama.cpp takes the "
    "longest first, 31 + rest, HF splits 16 + rest), all past the 16 windows.",
    "- Gemma 3 in the GGUF: every RMSNorm weight is stored as (1 + w), the "
    "multiplier itself; transformers' loader subtracts 1 because its norm "
    "multiplies by (1 + w). The embedding output is scaled by sqrt(640); the "
    "tied output head is not. query_pre_attn_scalar 256, sliding window 512 "
    "(masks nothing at n_ctx 512), rope theta 1e6 on layers 5/11/17 and 1e4 on "
    "the others. Of these the GGUF holds only the window and the global rope "
    "base (gemma3.rope.freq_base); the scalar, the local base and the layer "
    "pattern (every 6th layer global) come from Gemma3TextConfig defaults "
    "(llama.cpp hard-codes the same for gemma3).",
    "- SmolLM2's GGUF says add_bos_token false: no BOS in prompts nor in the "
    "perplexity windows (the windows are plain slices of the token stream). "
    "Gemma 3 adds BOS (id 2), and each window's first token is replaced by it.",
    "- The greedy continuations are not stopped at EOS; `prompt_greedy_margin` "
    "gives the top1 - top2 logit gap at each step: a test comparing greedy ids "
    "should stop at the first step whose margin is within its tolerance.",
]


def versions():
    import gguf  # noqa: F401
    import transformers
    from importlib.metadata import version
    v = {"python": platform.python_version(), "torch": torch.__version__,
         "transformers": transformers.__version__, "gguf": version("gguf"),
         "numpy": np.__version__, "safetensors": version("safetensors"),
         "tokenizers": version("tokenizers")}
    try:
        v["llama-cpp-python"] = version("llama_cpp_python")
    except Exception:  # noqa: BLE001
        v["llama-cpp-python"] = None
    return v


def write_markdown():
    rows = []
    for name in MODELS:
        p = os.path.join(HERE, f"{name}-reference.json")
        if os.path.exists(p):
            with open(p) as f:
                rows.append(json.load(f))
    with open(os.path.join(HERE, "versions.json")) as f:
        vers = json.load(f)
    L = ["# LLM references", "",
         "Made by `make_llm_references.py` (protocol in its docstring) with the "
         "reference virtualenv of `scripts/setup-reference.sh`; regenerate only "
         "to change the fixtures. The tests read the `.npz` files and need no torch.", "",
         "Versions: " + ", ".join(f"{k} {v}" for k, v in vers.items()), "",
         "| model | float PPL (transformers, dequantized GGUF, float32) | llama.cpp PPL (GGUF quantized) | scored tokens | text tokens | float32 vs float64 logits (rel. max-abs, worst prompt) |",
         "|---|---|---|---|---|---|"]
    for r in rows:
        lc = r.get("llamacpp", {})
        f64 = r.get("f64", {})
        lppl = f"{lc['ppl']:.4f}" if lc else "—"
        noise = f"{f64['max_prompt_relmaxabs']:.2e}" if f64 else "—"
        L.append(f"| {r['model']} | {r['ppl']:.4f} | {lppl} | {r['ppl_count']} | "
                 f"{r['text_n_tokens']} | {noise} |")
    for r in rows:
        L += ["", f"## {r['model']} (`{r['gguf']}`, {r['arch']})", "",
              f"- BOS: {'added, id ' + str(r['bos_id']) if r['add_bos'] else 'not added (GGUF add_bos_token false)'}; "
              f"EOS id {r['eos_id']}; vocab {r['vocab']}.",
              f"- Float perplexity {r['ppl']:.4f} over {r['ppl_count']} tokens "
              f"({r['ppl_windows']} windows of {N_CTX}); per-window NLL sums: "
              + ", ".join(f"{x:.3f}" for x in r["ppl_window_nll"]) + "."]
        if "f64" in r:
            f = r["f64"]
            L.append(f"- float32 vs float64: prompt logits rel. max-abs "
                     + ", ".join(f"{x:.2e}" for x in f["prompt_relmaxabs"])
                     + f"; greedy tokens equal (of 32): {f['greedy_tokens_equal_f32']}; "
                     f"window 0 NLL sum f32 {f['window0_nll_sum_f32']:.6f} vs f64 "
                     f"{f['window0_nll_sum_f64']:.6f} (max per-token diff "
                     f"{f['window0_nll_max_abs_diff']:.2e}).")
        if "llamacpp" in r:
            lc = r["llamacpp"]
            L.append(f"- llama.cpp (GGUF's own quantized kernels): perplexity {lc['ppl']:.4f}; "
                     "per-window NLL sums: " + ", ".join(f"{x:.3f}" for x in lc["ppl_window_nll"]) + ".")
            L.append("- llama.cpp vs float last-position logits, rel. max-abs: "
                     + ", ".join(f"{x:.2e}" for x in lc["prompt_relmaxabs_vs_float"])
                     + f"; argmax equal: {lc['prompt_argmax_equal_float']}.")
            L.append(f"- Tokenization, llama.cpp vs HF's GGUF tokenizer: prompts equal "
                     f"{lc['prompt_tokenization_equal']}; whole text equal "
                     f"{lc['text_tokenization_equal']} ({lc['text_n_tokens']} vs "
                     f"{r['text_n_tokens']} tokens, first difference at token "
                     f"{lc['text_first_difference']}); the {r['ppl_windows']} windows equal "
                     f"{lc['text_windows_equal']}.")
        L.append("- Loader checks: " + "; ".join(r["hf_loader_checks"]) + ".")
        L.append("- Prompts (ids incl. BOS; greedy = 32 argmax tokens, not stopped at EOS):")
        for i, p in enumerate(r["prompts"]):
            L.append(f"  {i}. {p['kind']}, {p['n_tokens']} tokens, min greedy margin "
                     f"{p['greedy_min_margin']}, EOS in greedy: {p['greedy_hits_eos']}; "
                     f"greedy text: `{json.dumps(p['greedy_text'], ensure_ascii=False)}`")
        L.append(f"- Timings (s): " + ", ".join(f"{k} {v}" for k, v in r["timings_s"].items())
                 + f"; npz {r['npz_bytes']} bytes.")
    L += ["", "## Notes", ""] + NOTES
    with open(os.path.join(HERE, "REFERENCES.md"), "w") as f:
        f.write("\n".join(L) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", choices=sorted(MODELS), action="append")
    ap.add_argument("--skip-llamacpp", action="store_true")
    ap.add_argument("--skip-float64", action="store_true")
    ap.add_argument("--windows", type=int, default=N_WINDOWS)
    ap.add_argument("--markdown-only", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    if not args.markdown_only:
        with open(os.path.join(HERE, "versions.json"), "w") as f:
            json.dump(versions(), f, indent=1)
            f.write("\n")
        for name in args.model or list(MODELS):
            run_model(name, args)
    write_markdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
