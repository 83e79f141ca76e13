"""Runs the ONNX backend node tests through nibblec-compiled executables.

For every test directory of the ONNX test data (Debian's libonnx-testdata,
/usr/share/libonnx-testdata/data/node/<test>/): compile model.onnx with
`nibblec --emit=exe`, run the executable (natively, or under qemu-aarch64 for
--target=aarch64) on each test_data_set_*/input_*.pb, and compare its outputs
with output_*.pb using the ONNX backend tolerances (rtol 1e-3, atol 1e-7,
looser per op where stated in TOLERANCES).

Graph inputs whose values nibble needs at compile time (shape or axes
operands; nibblec's error then ends with a `--bind-input=<name>=<file.npy>`
hint) are bound to the data set's value with --bind-input and not fed at run
time; the runner adds one binding per hint and compiles again.

Prints passed / failed / unsupported counts and the lists. With --pass-list,
exits non-zero when a test on that list does not pass (a regression); with
--update-pass-list, rewrites the list with the tests that passed.
"""

import argparse
import concurrent.futures
import os
import re
import subprocess
import sys

import numpy as np
import onnx
from onnx import numpy_helper

# Per-test tolerances (rtol, atol) where an op needs looser than the backend
# default, with the reason.
TOLERANCES = {
    # erf/tanh/exp come from libm vs numpy's reference: a few ulps.
}
DEFAULT_TOLERANCE = (1e-3, 1e-7)
# nibblec and compiled model executables exit with this status when the
# model is valid but uses something nibble does not support (yet): an
# operator, opset or IR version, data type, dynamic shape, or a dtype .npy
# files cannot hold. Any other failure is a failure.
EXIT_UNSUPPORTED = 3


def load_tensor(path):
    tensor = onnx.TensorProto()
    with open(path, "rb") as f:
        tensor.ParseFromString(f.read())
    return numpy_helper.to_array(tensor)


def graph_input_names(model_path):
    """Names of the model's graph inputs that are not initializers, in the
    order of the test data's input_<i>.pb files."""
    graph = onnx.load(model_path, load_external_data=False).graph
    initializers = {init.name for init in graph.initializer}
    return [i.name for i in graph.input if i.name not in initializers]


def data_set_files(data_dir, prefix):
    """input_<i>.pb / output_<i>.pb files of a data set, by index."""
    files = [f for f in os.listdir(data_dir) if f.startswith(prefix)]
    return sorted(files, key=lambda f: int(f[len(prefix):-len(".pb")]))


# The importer's hint for a graph input whose value it needs at compile time
# (a shape, axes, ...): "--bind-input=<name>=<file.npy>".
BIND_HINT = re.compile(r"--bind-input=(.+?)=<file\.npy>")


def compile_model(test_dir, exe, data_dir, work_prefix, names, bound, args):
    """Compiles model.onnx to `exe`, binding the graph inputs in `bound`
    (a set of names from `names`, the graph inputs in data set order) to
    their values in `data_dir`. When the importer asks for another input's
    value (BIND_HINT), adds it to `bound` and tries again. Returns the last
    nibblec result."""
    while True:
        command = [args.nibblec, os.path.join(test_dir, "model.onnx"),
                   "--emit=exe", f"--target={args.target}", "-o", exe]
        inputs = data_set_files(data_dir, "input_")
        for name in sorted(bound):
            path = f"{work_prefix}_bound_{names.index(name)}.npy"
            np.save(path, load_tensor(
                os.path.join(data_dir, inputs[names.index(name)])))
            command.append(f"--bind-input={name}={path}")
        result = subprocess.run(command, capture_output=True, text=True,
                                timeout=300)
        hint = BIND_HINT.search(result.stderr)
        if (result.returncode == 0 or not hint or hint.group(1) in bound
                or hint.group(1) not in names):
            return result
        bound.add(hint.group(1))


def run_test(test_dir, args):
    """Returns (name, status, detail) with status passed/failed/unsupported.

    Graph inputs the importer needs at compile time (shape or axes inputs)
    are bound with --bind-input to the data set's values and not fed at run
    time; the model is then compiled once per data set."""
    name = os.path.basename(test_dir)
    work = os.path.join(args.work, name)
    os.makedirs(work, exist_ok=True)
    rtol, atol = TOLERANCES.get(name, DEFAULT_TOLERANCE)
    data_sets = sorted(d for d in os.listdir(test_dir)
                       if d.startswith("test_data_set_"))
    if not data_sets:
        return name, "failed", "no test_data_set_* directory"
    names = graph_input_names(os.path.join(test_dir, "model.onnx"))
    bound = set()
    exe = None
    for data_set in data_sets:
        data_dir = os.path.join(test_dir, data_set)
        if exe is None or bound:
            exe = os.path.join(work, "model" if exe is None else
                               f"model_{data_set}")
            result = compile_model(test_dir, exe, data_dir,
                                   os.path.join(work, data_set), names, bound,
                                   args)
            if result.returncode != 0:
                message = (result.stderr.strip().splitlines() or ["?"])[0]
                status = ("unsupported"
                          if result.returncode == EXIT_UNSUPPORTED
                          else "failed")
                return name, status, "compile: " + message
        command = [exe] if args.target != "aarch64" else [
            "qemu-aarch64", "-L", "/usr/aarch64-linux-gnu", exe]
        for index, file in enumerate(data_set_files(data_dir, "input_")):
            if index < len(names) and names[index] in bound:
                continue
            path = os.path.join(work, f"{data_set}_input_{index}.npy")
            np.save(path, load_tensor(os.path.join(data_dir, file)))
            command += ["--input", path]
        expected = []
        for index, file in enumerate(data_set_files(data_dir, "output_")):
            expected.append(load_tensor(os.path.join(data_dir, file)))
            command += ["--output",
                        os.path.join(work, f"{data_set}_output_{index}.npy")]
        result = subprocess.run(command, capture_output=True, text=True,
                                timeout=300)
        if result.returncode != 0:
            message = (result.stderr.strip().splitlines() or ["?"])[0]
            status = ("unsupported" if result.returncode == EXIT_UNSUPPORTED
                      else "failed")
            return name, status, f"{data_set}: run: {message}"
        for index, want in enumerate(expected):
            got = np.load(os.path.join(work,
                                       f"{data_set}_output_{index}.npy"))
            if got.dtype != want.dtype:
                return name, "failed", (f"{data_set}: output {index} dtype "
                                        f"{got.dtype}, expected {want.dtype}")
            if got.shape != want.shape:
                return name, "failed", (f"{data_set}: output {index} shape "
                                        f"{got.shape}, expected {want.shape}")
            if want.dtype.kind in "fc":
                ok = np.allclose(got, want, rtol=rtol, atol=atol,
                                 equal_nan=True)
            else:
                ok = np.array_equal(got, want)
            if not ok:
                diff = np.abs(got.astype(np.float64) -
                              want.astype(np.float64)).max()
                return name, "failed", (f"{data_set}: output {index} differs "
                                        f"(max |diff| {diff:.3g})")
    return name, "passed", ""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nibblec", required=True)
    parser.add_argument("--testdata",
                        default="/usr/share/libonnx-testdata/data/node")
    parser.add_argument("--work", required=True)
    parser.add_argument("--target", default="host")
    parser.add_argument("--filter", default="",
                        help="regex; only tests whose name matches")
    parser.add_argument("--pass-list",
                        help="file of tests that must pass (one per line)")
    parser.add_argument("--only-pass-list", action="store_true",
                        help="run only the tests on the pass list")
    parser.add_argument("--update-pass-list", action="store_true")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()

    must_pass = set()
    if args.pass_list and os.path.exists(args.pass_list):
        with open(args.pass_list) as f:
            must_pass = {line.strip() for line in f
                         if line.strip() and not line.startswith("#")}
    tests = sorted(d for d in os.listdir(args.testdata)
                   if re.search(args.filter, d))
    if args.only_pass_list:
        tests = [t for t in tests if t in must_pass]
    results = {"passed": [], "failed": [], "unsupported": []}
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(run_test, os.path.join(args.testdata, t), args)
                   for t in tests]
        for future in concurrent.futures.as_completed(futures):
            name, status, detail = future.result()
            results[status].append((name, detail))
    for status in ("failed", "unsupported"):
        for name, detail in sorted(results[status]):
            print(f"{status.upper()}: {name}: {detail}")
    passed = {name for name, _ in results["passed"]}
    ran = set(tests)
    regressions = [] if args.update_pass_list else sorted(
        (must_pass & ran) - passed)
    print(f"ONNX node tests ({args.target}): {len(results['passed'])} passed, "
          f"{len(results['failed'])} failed, "
          f"{len(results['unsupported'])} unsupported")
    if args.update_pass_list and args.pass_list:
        with open(args.pass_list, "w") as f:
            f.write("# ONNX node tests that must pass (run_node_tests.py "
                    "--update-pass-list).\n")
            f.writelines(f"{name}\n" for name in sorted(passed))
    if regressions:
        print("REGRESSIONS: " + " ".join(regressions))
        sys.exit(1)


if __name__ == "__main__":
    main()
