# -*- Python -*-
# lit configuration that runs nibble's GoogleTest executables (*Tests).

import os

import lit.formats

config.name = "nibble-unit"
config.suffixes = []
config.test_exec_root = os.path.join(config.nibble_obj_root, "test", "Unit")
config.test_source_root = config.test_exec_root
config.test_format = lit.formats.GoogleTest(".", "Tests")
