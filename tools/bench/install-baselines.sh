#!/usr/bin/env bash
# Installs what `icdiff-bench` compares against, from Debian, as .ci/run does for the tests:
# - python3-numpy + libopenblas0-pthread: NumPy on OpenBLAS (without it Debian's numpy runs on the reference BLAS,
#   which the search benchmark reports as such, with no ratio);
# - python3-faiss: FAISS IndexFlatIP, the exact-search baseline of `bench search` and `bench scale`;
# - python3-pil: Pillow, the decode baseline.
set -euo pipefail
packages=(python3-numpy libopenblas0-pthread python3-faiss python3-pil)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian selects libblas.so.3 through alternatives; make sure it is OpenBLAS's, which numpy then loads.
blas=$(update-alternatives --list libblas.so.3-x86_64-linux-gnu 2>/dev/null | grep openblas | head -1 || true)
if [ -n "$blas" ]; then
  update-alternatives --set libblas.so.3-x86_64-linux-gnu "$blas" >/dev/null
fi
/usr/bin/python3 -c 'import numpy, faiss; print("numpy", numpy.__version__, "faiss", faiss.__version__)'
