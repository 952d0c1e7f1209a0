"""HWP 5 배포용 (distribution) bodies: `ViewText/Section*` decrypted as Hancom's format documents it.

A 배포용 document keeps each body section in `ViewText/SectionN` instead of `BodyText/SectionN`.
The stream opens with one record, HWPTAG_DISTRIBUTE_DOC_DATA (tag 28), of 256 bytes. Its first 4
bytes (little-endian) seed the MS Visual C `srand()`/`rand()` generator; the other 252 are XORed with
a key byte drawn from it, each key byte held for a run of 1-16 bytes (both drawn from `rand()`).
Unscrambled, the record holds at offset `4 + (byte 0 & 15)` the SHA-1 of the distributor's password
as 40 hex digits in UTF-16LE (80 bytes); the first 16 bytes of that text are the AES-128 key. The
rest of the stream is AES-128-ECB without padding (the plain stream ends in filler up to a block);
decrypted, it is what `BodyText/SectionN` would hold (raw deflate when the file is compressed).

Everything here is pure and bounded: the scramble is 256 steps, AES runs once over what the stream
holds. A stream that cannot be decrypted raises ExtractError naming the section and what is wrong;
a stream cut inside a block is decrypted up to its last whole block and says so in the note.
"""

from __future__ import annotations

import re

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from watcher.extract.errors import ExtractError

HWPTAG_DISTRIBUTE_DOC_DATA = 0x10 + 12  # 28
RECORD_BYTES = 256
HEAD_BYTES = 4 + RECORD_BYTES  # the record's 32-bit header, then its payload
BLOCK = 16  # AES block
KEY_TEXT_BYTES = 80  # 40 hex digits, UTF-16LE
_HEX_UTF16 = re.compile(rb"(?:[0-9A-Fa-f]\x00){40}")


def msvc_rand(seed: int, count: int) -> list[int]:
    """The first `count` values of MS Visual C `rand()` after `srand(seed)`: 15 bits each."""
    out = []
    state = seed & 0xFFFFFFFF
    for _ in range(count):
        state = (state * 214013 + 2531011) & 0xFFFFFFFF
        out.append((state >> 16) & 0x7FFF)
    return out


def unscramble(payload: bytes) -> bytes:
    """The 256-byte distribution record XORed with its rand() key stream (the same call scrambles it).

    Bytes 0-3 are the seed and stay as they are. From byte 0 on, every run starts by drawing a key
    byte (`rand() & 0xFF`) and a run length (`(rand() & 15) + 1`); bytes from 4 on are XORed with the
    key byte of their run. 256 bytes need at most 512 draws."""
    if len(payload) != RECORD_BYTES:
        raise ExtractError(f"distribution record has {len(payload)} bytes, not {RECORD_BYTES}")
    draws = iter(msvc_rand(int.from_bytes(payload[:4], "little"), 2 * RECORD_BYTES))
    out = bytearray(payload)
    key = left = 0
    for i in range(RECORD_BYTES):
        if left == 0:
            key = next(draws) & 0xFF
            left = (next(draws) & 0xF) + 1
        if i >= 4:
            out[i] ^= key
        left -= 1
    return bytes(out)


def aes_key(payload: bytes) -> bytes:
    """The AES-128 key of a distribution record: the first 16 bytes of its SHA-1 text."""
    plain = unscramble(payload)
    at = 4 + (plain[0] & 0xF)
    text = plain[at:at + KEY_TEXT_BYTES]
    if not _HEX_UTF16.fullmatch(text):
        raise ExtractError(f"distribution record garbled (no SHA-1 text at byte {at})")
    return text[:BLOCK]


def record_header(stream: bytes) -> tuple[int, int, int]:
    """(tag, size, header bytes) of the record a ViewText stream starts with."""
    if len(stream) < 4:
        raise ExtractError(f"{len(stream)} bytes, shorter than a record header")
    header = int.from_bytes(stream[:4], "little")
    tag, size, used = header & 0x3FF, header >> 20, 4
    if size == 0xFFF and len(stream) >= 8:
        size, used = int.from_bytes(stream[4:8], "little"), 8
    return tag, size, used


def decrypt_section(stream: bytes) -> tuple[bytes, str]:
    """(plain section bytes, note) of one ViewText stream; the note ("" or one line) says what was cut.

    Raises ExtractError (one line) when the stream does not start with a sound distribution record or
    holds nothing to decrypt."""
    tag, size, used = record_header(stream)
    if tag != HWPTAG_DISTRIBUTE_DOC_DATA or size != RECORD_BYTES or used != 4:
        raise ExtractError(f"starts with record tag {tag} of {size} bytes, not the 256-byte "
                           f"distribution record (tag {HWPTAG_DISTRIBUTE_DOC_DATA})")
    if len(stream) < HEAD_BYTES:
        raise ExtractError(f"{len(stream)} bytes, cut inside its {HEAD_BYTES}-byte distribution record")
    key = aes_key(stream[4:HEAD_BYTES])
    body = stream[HEAD_BYTES:]
    whole = len(body) - len(body) % BLOCK
    if whole == 0:
        raise ExtractError(f"{len(body)} encrypted bytes, less than one AES block")
    note = ""
    if whole != len(body):
        note = (f"{len(body)} encrypted bytes, not a multiple of {BLOCK}: "
                f"the last {len(body) - whole} dropped")
    decryptor = Cipher(algorithms.AES(key), modes.ECB()).decryptor()
    return decryptor.update(body[:whole]) + decryptor.finalize(), note
