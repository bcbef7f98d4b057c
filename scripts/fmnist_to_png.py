#!/usr/bin/env python3
"""Writes images of a Fashion-MNIST IDX file as PNGs named <index>-<class>.png.

Python's standard library only (gzip, zlib, struct): the bundled example images are made
with this, from the Debian package dataset-fashion-mnist (MIT licensed).
usage: fmnist_to_png.py IMAGES.gz LABELS.gz OUT_DIR INDEX...
"""
import gzip
import os
import struct
import sys
import zlib

CLASSES = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot"]


def png(width, height, gray_rows):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + row for row in gray_rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def main():
    images_path, labels_path, out = sys.argv[1:4]
    images = gzip.open(images_path).read()
    labels = gzip.open(labels_path).read()
    _, n, h, w = struct.unpack(">IIII", images[:16])
    os.makedirs(out, exist_ok=True)
    for index in map(int, sys.argv[4:]):
        start = 16 + index * h * w
        rows = [images[start + y * w:start + (y + 1) * w] for y in range(h)]
        name = os.path.join(out, f"{index:05d}-{CLASSES[labels[8 + index]]}.png")
        with open(name, "wb") as f:
            f.write(png(w, h, rows))
        print(name)


if __name__ == "__main__":
    main()
