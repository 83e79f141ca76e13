# -*- Python -*-
# lit configuration of nibble's FileCheck and end-to-end tests.

import os
import sys

import lit.formats
from lit.llvm import llvm_config

config.name = "nibble"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["Unit", "Inputs", "Sanitizer", "CMakeLists.txt",
                   "lit.cfg.py", "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.nibble_obj_root, "test")

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.nibble_tools_dir, append_path=True)

config.substitutions.append(("%nibble_python", config.nibble_python))
# Test scripts share test/python/nibble_testlib.py.
config.environment["PYTHONPATH"] = os.path.join(config.nibble_src_root,
                                                "test", "python")
config.substitutions.append(
    ("%nibble_src", config.nibble_src_root))
config.substitutions.append(
    ("%e2e_inputs", os.path.join(config.test_source_root, "E2E", "Inputs")))

llvm_config.add_tool_substitutions(
    ["nibble-opt", "nibble-run", "nibblec", "nibble-translate",
     "nibble-run-lib", "nibble-tokenize"],
    [config.nibble_tools_dir])
# The real models scripts/fetch-models.sh puts in the cache.
config.substitutions.append(
    ("%nibble_models", os.path.join(
        os.environ.get("NIBBLE_CACHE_DIR",
                       os.path.expanduser("~/.cache/nibble")), "models")))
# Runtime programs cross-built for AArch64 (run them under qemu-aarch64).
config.substitutions.append(
    ("%aarch64_bin", os.path.join(config.nibble_tools_dir, "aarch64")))

# Debian's libonnx-testdata (installed by scripts/setup.sh).
if os.path.isdir("/usr/share/libonnx-testdata/data/node"):
    config.available_features.add("onnx-testdata")

# The ASan+UBSan build (scripts/build-sanitized.sh, NIBBLE_SANITIZE=ON): see
# Sanitizer/lit_sanitizer.py. The fuzz harnesses' smoke tests (Fuzz/) run
# only there, where the harnesses are built.
sys.path.insert(0, os.path.join(config.test_source_root, "Sanitizer"))
import lit_sanitizer  # noqa: E402

if lit_sanitizer.configure(config, config.llvm_tools_dir):
    config.substitutions.append(("%nibble_obj", config.nibble_obj_root))
else:
    config.excludes.append("Fuzz")
