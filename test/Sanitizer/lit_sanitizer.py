"""The sanitizer settings of nibble's lit suites (test/lit.cfg.py and
test/Unit/lit.cfg.py) in the ASan+UBSan build (NIBBLE_SANITIZE=ON,
scripts/build-sanitized.sh).

Every report stops the program with a symbolized stack trace, so the test
that ran it fails; LeakSanitizer runs at exit with lsan.supp's suppressions;
test/Sanitizer/bin comes first on PATH, so the g++ that nibblec links models
with is clang++ with the sanitizers (the models link the sanitized runtime).
"""

import os

SANITIZER_DIR = os.path.dirname(os.path.abspath(__file__))


def is_sanitized(config):
    return str(getattr(config, "nibble_sanitize", "")).upper() in (
        "ON", "1", "TRUE", "YES")


def configure(config, llvm_tools_dir):
    """Sets the sanitizers' environment in `config` and adds the feature
    `asan`; does nothing outside the sanitized build."""
    if not is_sanitized(config):
        return False
    config.available_features.add("asan")
    env = config.environment
    env["ASAN_SYMBOLIZER_PATH"] = os.path.join(llvm_tools_dir,
                                               "llvm-symbolizer")
    # allow_user_poisoning=0: see fuzz/SanitizerOptions.cpp (LLVM's
    # BumpPtrAllocator, inlined into nibble with ASan, poisons slabs that
    # Debian's uninstrumented libMLIR.so then allocates from).
    env["ASAN_OPTIONS"] = ":".join([
        "allow_user_poisoning=0", "halt_on_error=1", "abort_on_error=0", "detect_leaks=1",
        "print_stacktrace=1", "strict_string_checks=1",
        "detect_stack_use_after_return=1", "check_initialization_order=1",
        "strict_init_order=1"])
    env["UBSAN_OPTIONS"] = ":".join([
        "halt_on_error=1", "print_stacktrace=1", "print_summary=1"])
    env["LSAN_OPTIONS"] = ("suppressions=" +
                           os.path.join(SANITIZER_DIR, "lsan.supp") +
                           ":print_suppressions=0")
    paths = [os.path.join(SANITIZER_DIR, "bin")]
    if env.get("PATH"):
        paths.append(env["PATH"])
    env["PATH"] = os.pathsep.join(paths)
    return True
