"""Mutates valid test models and checks that nibble-translate never crashes.

Usage: fuzz_import.py DIR NIBBLE_TRANSLATE COUNT CASE...

For each of COUNT mutants (fixed seed) of the models DIR/CASE.onnx written by
make_models.py: overwrite a few random bytes, truncate, or change a random
int/float field of a node attribute, initializer dims or a graph input
shape, then import. The import may succeed or fail with an error message
(exit code 0, or 1 / 3 for invalid / unsupported); a signal, another exit code, or a failure without an
"error:" line is reported. Prints a summary line; exits non-zero on any
crash.
"""

import os
import random
import subprocess
import sys

import onnx


def mutate_proto(m, rng):
    """Changes one semantic field of the model (keeps it a valid protobuf)."""
    g = m.graph
    choice = rng.randrange(5)
    if choice == 0 and g.initializer:
        t = rng.choice(g.initializer)
        if t.dims:
            t.dims[rng.randrange(len(t.dims))] = rng.choice([0, 1, 3, -1, 7])
        else:
            t.dims.append(2)
    elif choice == 1 and g.node:
        n = rng.choice(g.node)
        if n.attribute:
            a = rng.choice(n.attribute)
            a.i = rng.choice([-5, -1, 0, 1, 2, 99])
            del a.ints[:]
            a.ints.extend(rng.sample([-3, -1, 0, 1, 2, 5], 2))
        elif n.input:
            n.input[rng.randrange(len(n.input))] = rng.choice(
                ["", "nope", g.input[0].name])
    elif choice == 2 and g.input:
        dims = g.input[0].type.tensor_type.shape.dim
        if dims:
            dims[rng.randrange(len(dims))].dim_value = rng.choice([1, 2, 5])
    elif choice == 3 and g.node:
        n = rng.choice(g.node)
        n.op_type = rng.choice(["Add", "MatMul", "Reshape", "Concat",
                                "Gather", "Slice", "Split", "Transpose",
                                "LayerNormalization", "Softmax", "Cast"])
    elif g.initializer:
        t = rng.choice(g.initializer)
        t.data_type = rng.choice([1, 2, 6, 7, 9, 10, 11, 16, 8])
    return m.SerializeToString()


def mutate_bytes(data, rng):
    data = bytearray(data)
    if rng.random() < 0.3:
        return bytes(data[:rng.randrange(len(data))])
    for _ in range(rng.randrange(1, 6)):
        data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data)


def main():
    out_dir, tool, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    cases = sys.argv[4:]
    rng = random.Random(1234)
    results = {"imported": 0, "rejected": 0}
    crashes = []
    for i in range(count):
        case = cases[i % len(cases)]
        path = os.path.join(out_dir, f"{case}.onnx")
        if i % 2:
            with open(path, "rb") as f:
                data = mutate_bytes(f.read(), rng)
        else:
            data = mutate_proto(onnx.load(path), rng)
        mutant = os.path.join(out_dir, f"mutant{i}.onnx")
        with open(mutant, "wb") as f:
            f.write(data)
        proc = subprocess.run(
            [tool, "--import-onnx", mutant, "-o",
             os.path.join(out_dir, f"mutant{i}.mlir")],
            capture_output=True, text=True, errors="replace", timeout=60)
        if proc.returncode == 0:
            results["imported"] += 1
        elif proc.returncode in (1, 3) and "error:" in proc.stderr:
            results["rejected"] += 1
        else:
            crashes.append((mutant, proc.returncode, proc.stderr[-500:]))
    for mutant, code, err in crashes:
        print(f"CRASH {mutant}: exit {code}\n{err}")
    print(f"{count} mutants: {results['imported']} imported, "
          f"{results['rejected']} rejected with an error, "
          f"{len(crashes)} crashed")
    sys.exit(1 if crashes else 0)


if __name__ == "__main__":
    main()
