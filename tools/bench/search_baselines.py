#!/usr/bin/python3
"""Exact-search baselines of `icdiff-bench search`, on the very vectors the benchmark searched (raw float32 files).

NumPy: scores = queries @ gallery.T, then np.argpartition for the top k (the matrix product runs on whichever BLAS
numpy is linked to, found by reading this process's own mappings after the product has run: Debian switches
libblas.so.3 between the reference BLAS and OpenBLAS through alternatives, and numpy's build configuration cannot
tell which one is in use). FAISS: IndexFlatIP (exact inner product), when python3-faiss is installed.

Thread counts are fixed by the caller (OPENBLAS_NUM_THREADS / OMP_NUM_THREADS are read at import, so the
benchmark starts this script once per thread count). Prints one JSON line; writes each baseline's top-k ids of the
last repetition next to the query file (ids-numpy.i32, ids-faiss.i32) for the benchmark's agreement check.
"""
import argparse
import ctypes
import json
import os
import statistics
import sys
import time

import numpy as np


def blas_in_use():
    """What BLAS the matrix product above ran on: kind (openblas, reference, blis, mkl, unknown), library, version.

    Debian's numpy links libblas.so.3, which alternatives point at the reference BLAS (.../blas/) or OpenBLAS
    (.../openblas-pthread/); the kernel maps the file the link resolved to, so that mapping decides. Other BLAS
    libraries may be mapped beside it (OpenBLAS's LAPACK pulls in libopenblas) without providing numpy's sgemm.
    Without a libblas.so.3 (a wheel bundling its own OpenBLAS), the bundled library decides.
    """
    mapped = set()
    with open("/proc/self/maps", encoding="utf-8") as maps:
        for line in maps:
            fields = line.split()
            path = fields[-1] if len(fields) >= 6 else ""
            if path.startswith("/") and os.path.basename(path).startswith(("libblas", "libcblas", "libopenblas", "libmkl_rt", "libblis")):
                mapped.add(path)
    linked = sorted(p for p in mapped if os.path.basename(p).startswith(("libblas.so", "libcblas.so")))
    candidates = linked or sorted(mapped)
    kind, library, version = "unknown", (candidates[0] if candidates else None), None
    for path in candidates:
        lower = path.lower()
        found = "openblas" if "openblas" in lower else "mkl" if "mkl" in lower else "blis" if "blis" in lower else "reference" if "/blas/" in lower else None
        if found:
            kind, library = found, path
            break
    if kind == "openblas":
        try:
            lib = ctypes.CDLL(library)
            lib.openblas_get_config.restype = ctypes.c_char_p
            version = lib.openblas_get_config().decode("ascii", "replace").strip()
        except (OSError, AttributeError):
            version = None
    return {"kind": kind, "library": library, "version": version, "mapped": sorted(mapped)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--gallery", required=True)
    parser.add_argument("--queries", required=True)
    parser.add_argument("--dim", type=int, required=True)
    parser.add_argument("--k", type=int, required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    gallery = np.fromfile(args.gallery, dtype=np.float32).reshape(-1, args.dim)
    queries = np.fromfile(args.queries, dtype=np.float32).reshape(-1, args.dim)
    folder = os.path.dirname(os.path.abspath(args.queries))
    result = {"numpyVersion": np.__version__, "threads": args.threads, "rows": int(gallery.shape[0]), "queries": int(queries.shape[0])}

    seconds = []
    top = None
    for _ in range(args.repeat):
        started = time.perf_counter()
        scores = queries @ gallery.T
        top = np.argpartition(-scores, args.k - 1, axis=1)[:, :args.k]
        seconds.append(time.perf_counter() - started)
    top.astype(np.int32).tofile(os.path.join(folder, "ids-numpy.i32"))
    result["numpy"] = {"seconds": seconds, "median": statistics.median(seconds), "blas": blas_in_use()}

    try:
        import faiss
    except ImportError as missing:
        result["faiss"] = {"unavailable": f"FAISS is not installed for /usr/bin/python3 ({missing}); apt-get install python3-faiss"}
    else:
        faiss.omp_set_num_threads(args.threads)
        index = faiss.IndexFlatIP(args.dim)
        index.add(gallery)
        seconds = []
        ids = None
        for _ in range(args.repeat):
            started = time.perf_counter()
            _, ids = index.search(queries, args.k)
            seconds.append(time.perf_counter() - started)
        ids.astype(np.int32).tofile(os.path.join(folder, "ids-faiss.i32"))
        result["faiss"] = {"version": faiss.__version__, "threads": faiss.omp_get_max_threads(), "seconds": seconds, "median": statistics.median(seconds)}

    print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())
