# -*- Python -*-
# lit configuration that runs nibble's GoogleTest executables (*Tests).

import os
import sys

import lit.formats

config.name = "nibble-unit"
config.suffixes = []
config.test_exec_root = os.path.join(config.nibble_obj_root, "test", "Unit")
config.test_source_root = config.test_exec_root
config.test_format = lit.formats.GoogleTest(".", "Tests")

# The ASan+UBSan build: the same sanitizer settings as the lit suite.
sys.path.insert(0, os.path.join(config.nibble_src_root, "test", "Sanitizer"))
import lit_sanitizer  # noqa: E402

lit_sanitizer.configure(config, config.llvm_tools_dir)
