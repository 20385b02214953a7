#!/usr/bin/python3
"""FAISS IndexFlatIP baseline of `icdiff-bench scale`: exact inner-product top-k of the same query file over the
first N rows of the same gallery file (raw float32 rows, memory-mapped), on a fixed thread count.

Prints one JSON line: faiss version, threads, seconds to add and to search (one per repetition). Writes the top-k row
ids of the last repetition to --ids as int32 (queries x k), so the benchmark can compare them with its own.
Exits 3 with a message naming the package when FAISS is not installed.
"""
import argparse
import json
import sys
import time

try:
    import faiss
    import numpy as np
except ImportError as missing:  # reported by the benchmark, which then gives no ratio
    print(f"FAISS is not installed for /usr/bin/python3 ({missing}); install it with: apt-get install python3-faiss", file=sys.stderr)
    sys.exit(3)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--gallery", required=True)
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--queries", required=True)
    parser.add_argument("--dim", type=int, required=True)
    parser.add_argument("--k", type=int, required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--ids", required=True)
    args = parser.parse_args()

    faiss.omp_set_num_threads(args.threads)
    gallery = np.memmap(args.gallery, dtype=np.float32, mode="r", shape=(args.rows, args.dim))
    queries = np.fromfile(args.queries, dtype=np.float32).reshape(-1, args.dim)

    started = time.perf_counter()
    index = faiss.IndexFlatIP(args.dim)
    index.add(np.ascontiguousarray(gallery))
    add_seconds = time.perf_counter() - started
    del gallery

    search_seconds = []
    search_cpu_seconds = []
    ids = None
    for _ in range(args.repeat):
        started = time.perf_counter()
        cpu = time.process_time()
        _, ids = index.search(queries, args.k)
        search_seconds.append(time.perf_counter() - started)
        # CPU time of all threads: on a machine shared with other work, pairs per CPU-second compare fairly.
        search_cpu_seconds.append(time.process_time() - cpu)

    ids.astype(np.int32).tofile(args.ids)
    print(json.dumps({
        "faissVersion": faiss.__version__,
        "threads": faiss.omp_get_max_threads(),
        "addSeconds": add_seconds,
        "searchSeconds": search_seconds,
        "searchCpuSeconds": search_cpu_seconds,
        "queries": int(queries.shape[0]),
    }))


if __name__ == "__main__":
    main()
