#!/usr/bin/env python3
"""Regenerate assets/digits/digits.csv.gz from the scikit-learn wheel.

The file is copied byte for byte (scikit-learn ships the UCI "Optical Recognition of
Handwritten Digits" test set as `sklearn/datasets/data/digits.csv.gz`). Nothing else is
changed, so the SHA-256 printed below must match the one in ATTRIBUTION.md.

Usage: python3 assets/digits/regenerate.py   (needs pip and access to the Python package registry)
"""
import glob, hashlib, pathlib, subprocess, sys, tempfile, zipfile

HERE = pathlib.Path(__file__).resolve().parent
with tempfile.TemporaryDirectory() as tmp:
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                    "-d", tmp, "scikit-learn==1.9.1"], check=True)
    wheel = glob.glob(f"{tmp}/scikit_learn-*.whl")[0]
    data = zipfile.ZipFile(wheel).read("sklearn/datasets/data/digits.csv.gz")
(HERE / "digits.csv.gz").write_bytes(data)
print("wrote", HERE / "digits.csv.gz", len(data), "bytes, sha256", hashlib.sha256(data).hexdigest())
