#!/usr/bin/env python3
# ===- make_chat_fixtures.py - Reference renderings of chat templates -----===#
#
# Renders conversations with jinja2 and the real chat templates of SmolLM2
# (ChatML) and Gemma 3, and writes them to chat_fixtures.txt, which
# ChatTemplateTest compares with runtime/ChatTemplate.cpp byte for byte.
#
#   ~/.cache/nibble/venv/bin/python make_chat_fixtures.py [--check]
#       [--smollm2-gguf ~/.cache/nibble/models/SmolLM2-135M-Instruct.Q4_1.gguf]
#
# jinja2 is needed here only (pip install jinja2 into the venv). The templates
# run as transformers' apply_chat_template runs them: an
# ImmutableSandboxedEnvironment with trim_blocks and lstrip_blocks, and a
# raise_exception() global. --check renders again and fails if the committed
# file differs. If the GGUF is there, the script also checks that the
# SmolLM2 template below is the one in its tokenizer.chat_template.
#
# File format (lengths in bytes of UTF-8; each blob is followed by "\n"):
#   template <name> <length>\n<template text>\n
#   case <id> <template name> <add_generation_prompt 0|1> <messages>\n
#   message <role> <length>\n<content>\n          (once per message)
#   expected <length>\n<rendered text>\n   or   error <message>\n
#
# ===----------------------------------------------------------------------===#

import argparse
import os
import sys

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

# tokenizer.chat_template of SmolLM2-135M-Instruct (the GGUF that
# scripts/fetch-models.sh downloads; also HuggingFaceTB/SmolLM2-135M-Instruct
# tokenizer_config.json).
SMOLLM2_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != "
    "'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named "
    "SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>'"
    " + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}"
    "{% endif %}")

# Gemma 3's chat template: "chat_template" of google/gemma-3-4b-it's
# tokenizer_config.json (https://huggingface.co/google/gemma-3-4b-it), the
# template the instruction-tuned Gemma 3 models share (the 270M GGUF that
# scripts/fetch-models.sh downloads is the base model and has none). The text
# was taken from public copies of that file found with the code search
# (e.g. the Gemma 3 fixtures of a transformers-based test suite, and
# llama-cpp-python's Gemma3ChatHandler, which has the same template without
# the whitespace), including its image branch, which text-only conversations
# never reach.
GEMMA3_TEMPLATE = (
    "{{ bos_token }}\n"
    "{%- if messages[0]['role'] == 'system' -%}\n"
    "    {%- if messages[0]['content'] is string -%}\n"
    "        {%- set first_user_prefix = messages[0]['content'] + '\\n\\n' -%}\n"
    "    {%- else -%}\n"
    "        {%- set first_user_prefix = messages[0]['content'][0]['text'] + '\\n\\n' -%}\n"
    "    {%- endif -%}\n"
    "    {%- set loop_messages = messages[1:] -%}\n"
    "{%- else -%}\n"
    "    {%- set first_user_prefix = \"\" -%}\n"
    "    {%- set loop_messages = messages -%}\n"
    "{%- endif -%}\n"
    "{%- for message in loop_messages -%}\n"
    "    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}\n"
    "        {{ raise_exception(\"Conversation roles must alternate user/assistant/user/assistant/...\") }}\n"
    "    {%- endif -%}\n"
    "    {%- if (message['role'] == 'assistant') -%}\n"
    "        {%- set role = \"model\" -%}\n"
    "    {%- else -%}\n"
    "        {%- set role = message['role'] -%}\n"
    "    {%- endif -%}\n"
    "    {{ '<start_of_turn>' + role + '\\n' + (first_user_prefix if loop.first else \"\") }}\n"
    "    {%- if message['content'] is string -%}\n"
    "        {{ message['content'] | trim }}\n"
    "    {%- elif message['content'] is iterable -%}\n"
    "        {%- for item in message['content'] -%}\n"
    "            {%- if item['type'] == 'image' -%}\n"
    "                {{ '<start_of_image>' }}\n"
    "            {%- elif item['type'] == 'text' -%}\n"
    "                {{ item['text'] | trim }}\n"
    "            {%- endif -%}\n"
    "        {%- endfor -%}\n"
    "    {%- else -%}\n"
    "        {{ raise_exception(\"Invalid content type\") }}\n"
    "    {%- endif -%}\n"
    "    {{ '<end_of_turn>\\n' }}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}\n"
    "    {{'<start_of_turn>model\\n'}}\n"
    "{%- endif -%}\n")

# Gemma's BOS is added by the tokenizer (tokenizer.ggml.add_bos_token), not
# by the runtime's renderer: the Jinja output starts with bos_token, which
# is dropped below after checking it is there.
GEMMA_BOS = "<bos>"

TEMPLATES = {"chatml": SMOLLM2_TEMPLATE, "gemma": GEMMA3_TEMPLATE}


def msg(role, content):
    return {"role": role, "content": content}


# (id, messages, add_generation_prompt); each runs under both templates.
CONVERSATIONS = [
    ("user_only", [msg("user", "What is the capital of France?")], True),
    ("system_user", [msg("system", "You are terse."),
                     msg("user", "Name a prime.")], True),
    ("multi_turn", [msg("system", "Answer in French."),
                    msg("user", "Hello!"),
                    msg("assistant", "Bonjour !"),
                    msg("user", "How are you?")], True),
    ("no_generation_prompt", [msg("user", "Hi"), msg("assistant", "Hello.")],
     False),
    ("user_assistant_user", [msg("user", "2+2?"), msg("assistant", "4"),
                             msg("user", "And 3+3?")], True),
    # Gemma trims message text (Python's str.strip(): ASCII and Unicode
    # whitespace) but not the system text; ChatML keeps everything.
    ("whitespace", [msg("system", "  Be brief. \n"),
                    msg("user", " \t\n  spaced out \u00a0\u3000\n"),
                    msg("assistant", "\u2003ok\u2029"),
                    msg("user", "\x1c\x1flast\x85")], True),
    ("multiline_unicode", [msg("user", "Grüße, 世界 🌍\nline two\n\nline four"),
                           msg("assistant", "Ça va ? — oui.")], True),
    ("empty_contents", [msg("user", ""), msg("assistant", "   ")], True),
    ("system_only", [msg("system", "Nothing else.")], True),
    ("lone_user_no_prompt", [msg("user", "Just this.")], False),
    # Roles that do not alternate: Gemma's template raises, ChatML renders.
    ("two_users", [msg("user", "One"), msg("user", "Two")], True),
    ("assistant_first", [msg("assistant", "I start."), msg("user", "Ok")],
     True),
    ("system_then_assistant", [msg("system", "S"), msg("assistant", "A")],
     True),
    # No messages: ChatML renders only the generation prompt; Gemma's
    # template reads messages[0] and fails.
    ("no_messages", [], True),
]


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def render(name, messages, add_generation_prompt):
    """The rendered text, or the exception's message."""
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    template = env.from_string(TEMPLATES[name])
    try:
        text = template.render(messages=messages, bos_token=GEMMA_BOS,
                               add_generation_prompt=add_generation_prompt)
    except jinja2.exceptions.TemplateError as error:
        return None, str(error).replace("\n", " ")
    if name == "gemma":
        assert text.startswith(GEMMA_BOS), text
        text = text[len(GEMMA_BOS):]
    return text, None


def blob(text):
    data = text.encode("utf-8")
    return b"%d\n" % len(data) + data + b"\n"


def fixtures():
    out = [b"# Generated by make_chat_fixtures.py; do not edit.\n"]
    for name, text in TEMPLATES.items():
        out.append(b"template %s " % name.encode() + blob(text))
    for case, messages, add_generation_prompt in CONVERSATIONS:
        for name in TEMPLATES:
            out.append(b"case %s %s %d %d\n" % (
                case.encode(), name.encode(), int(add_generation_prompt),
                len(messages)))
            for m in messages:
                out.append(b"message %s " % m["role"].encode() +
                           blob(m["content"]))
            text, error = render(name, messages, add_generation_prompt)
            if error is not None:
                out.append(b"error " + error.encode("utf-8") + b"\n")
            else:
                out.append(b"expected " + blob(text))
    return b"".join(out)


def check_gguf_template(path):
    """The SmolLM2 GGUF's template must be SMOLLM2_TEMPLATE."""
    if not os.path.exists(path):
        print(f"note: {path} not found; not comparing the SmolLM2 template")
        return True
    import gguf
    field = gguf.GGUFReader(path).fields["tokenizer.chat_template"]
    declared = field.contents()
    if declared != SMOLLM2_TEMPLATE:
        print(f"error: {path}'s tokenizer.chat_template differs from "
              f"SMOLLM2_TEMPLATE:\n{declared!r}", file=sys.stderr)
        return False
    return True


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(
        description="Render chat template fixtures with jinja2.")
    parser.add_argument("--check", action="store_true",
                        help="fail if the committed fixture is out of date")
    parser.add_argument("--smollm2-gguf", default=os.path.expanduser(
        "~/.cache/nibble/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    parser.add_argument("--output",
                        default=os.path.join(here, "chat_fixtures.txt"))
    args = parser.parse_args()
    if not check_gguf_template(args.smollm2_gguf):
        return 1
    data = fixtures()
    if args.check:
        with open(args.output, "rb") as f:
            if f.read() != data:
                print(f"error: {args.output} is out of date; rerun "
                      f"{os.path.basename(__file__)}", file=sys.stderr)
                return 1
        print(f"{args.output} is up to date")
        return 0
    with open(args.output, "wb") as f:
        f.write(data)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
