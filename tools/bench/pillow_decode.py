#!/usr/bin/env python3
"""Baseline for `icdiff bench`: Pillow (libjpeg-turbo) decode + pre-process to a model input tensor.

For each file: open, draft("RGB", size) for JPEGs (DCT down-scaling, as our decoder does), convert("RGB"),
resize to W x H with BICUBIC, scale and normalise to float32 CHW. Prints JSON: images/s on one core and on all
cores (one process per core), median of --repeat runs.
"""
import argparse
import json
import multiprocessing
import os
import statistics
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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--width", type=int, required=True)
    parser.add_argument("--height", type=int, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("files", nargs="+")
    a = parser.parse_args()
    cores = os.cpu_count() or 1
    run((a.files[:2], a.width, a.height))  # warm-up
    single, multi = [], []
    for _ in range(a.repeat):
        start = time.perf_counter()
        run((a.files, a.width, a.height))
        single.append(len(a.files) / (time.perf_counter() - start))
        chunks = [a.files[i::cores] for i in range(cores)]
        with multiprocessing.Pool(cores) as pool:
            start = time.perf_counter()
            done = sum(pool.map(run, [(c, a.width, a.height) for c in chunks]))
            multi.append(done / (time.perf_counter() - start))
    print(json.dumps({"singleCore": statistics.median(single), "allCores": statistics.median(multi), "cores": cores}))


if __name__ == "__main__":
    main()
