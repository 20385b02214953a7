#!/usr/bin/env python3
"""Baseline for `icdiff-bench`: Pillow (libjpeg-turbo) decode + pre-process to a model input tensor.

For each file: open, draft("RGB", size) for JPEGs (DCT down-scaling, as our decoder does), convert("RGB"),
resize to W x H with BICUBIC, scale and normalise to float32 CHW.

Two ways to run it:
- one shot: `pillow_decode.py --width W --height H [--repeat N] FILE...` prints JSON with images/s on one core and
  on all cores (one process per core), medians of N runs;
- `--serve`: stays up with a warm pool of one process per core and answers requests on stdin, one JSON object
  per line (`{"mode": "single" | "all", "files": [...]}`), with `{"rate": images_per_second}` on stdout. The
  benchmark uses this to measure Pillow right after its own decoder in every repetition, so the two figures of a
  ratio are taken under the same machine load.
"""
import argparse
import json
import multiprocessing
import os
import statistics
import sys
import time

import numpy as np
from PIL import Image

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def preprocess(path, width, height):
    image = Image.open(path)
    if image.format == "JPEG":
        image.draft("RGB", (width, height))
    image = image.convert("RGB").resize((width, height), Image.BICUBIC)
    x = (np.asarray(image, dtype=np.float32) / 255.0 - MEAN) / STD
    return x.transpose(2, 0, 1)


def run(args):
    paths, width, height = args
    for p in paths:
        preprocess(p, width, height)
    return len(paths)


def single_core(files, width, height):
    start = time.perf_counter()
    run((files, width, height))
    return len(files) / (time.perf_counter() - start)


def all_cores(pool, cores, files, width, height):
    chunks = [files[i::cores] for i in range(cores)]
    start = time.perf_counter()
    done = sum(pool.map(run, [(c, width, height) for c in chunks]))
    return done / (time.perf_counter() - start)


def serve(width, height, cores):
    with multiprocessing.Pool(cores) as pool:
        for line in sys.stdin:
            if not line.strip():
                continue
            request = json.loads(line)
            files = request["files"]
            run((files[:2], width, height))  # warm: page cache and the decoder's tables
            if request["mode"] == "single":
                rate = single_core(files, width, height)
            else:
                pool.map(run, [(files[:2], width, height)] * cores)
                rate = all_cores(pool, cores, files, width, height)
            print(json.dumps({"rate": rate}), flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--width", type=int, required=True)
    parser.add_argument("--height", type=int, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--serve", action="store_true")
    parser.add_argument("files", nargs="*")
    a = parser.parse_args()
    cores = os.cpu_count() or 1
    if a.serve:
        serve(a.width, a.height, cores)
        return
    run((a.files[:2], a.width, a.height))  # warm-up
    single, multi = [], []
    with multiprocessing.Pool(cores) as pool:
        for _ in range(a.repeat):
            single.append(single_core(a.files, a.width, a.height))
            multi.append(all_cores(pool, cores, a.files, a.width, a.height))
    print(json.dumps({"singleCore": statistics.median(single), "allCores": statistics.median(multi), "cores": cores}))


if __name__ == "__main__":
    main()
