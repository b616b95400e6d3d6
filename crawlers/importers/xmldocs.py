"""Bulk XML files: the documents in a file (or in the .xml members of a zip), parsed one at a
time, and the text inside their elements.

Parsing uses the standard library's expat: it never fetches the DTDs the documents name and
refuses entity expansion attacks, which matters for files downloaded from elsewhere.
"""

from __future__ import annotations

import html.entities
import re
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from crawlers.errors import ImportRefused

_DECLARATION = re.compile(rb"^\s*<\?xml\s")
_DOCTYPE = re.compile(rb"^\s*<!DOCTYPE\s")
_START_TAG = re.compile(rb"<[A-Za-z]")
_NAMED_ENTITY = re.compile(rb"&([A-Za-z][A-Za-z0-9]*);")
_XML_ENTITIES = {"amp", "lt", "gt", "quot", "apos"}


def split_documents(lines: Iterable[bytes]) -> Iterator[bytes]:
    """Each XML document of a bulk file, in order.

    A USPTO weekly file is thousands of complete documents written one after the other, each
    with its own `<?xml …?>` declaration; some older documents start at their `<!DOCTYPE`
    without a declaration. Lines are streamed, so a 1 GB file is never held whole."""
    document: list[bytes] = []
    has_body = False  # an element has started (a declaration, comment or DOCTYPE is not one)
    for line in lines:
        if has_body and (_DECLARATION.match(line) or _DOCTYPE.match(line)):
            yield b"".join(document)
            document, has_body = [], False
        document.append(line)
        has_body = has_body or bool(_START_TAG.search(line))
    if document and any(line.strip() for line in document):
        yield b"".join(document)


@contextmanager
def refused_if_corrupt(path: Path) -> Iterator[None]:
    """A damaged zip (bad CRC, truncated) refuses the whole file with one line. It shows only
    while reading (a member's CRC is checked at its end), but still before the loader writes
    anything: the loader reads the file through once for duplicates first."""
    try:
        yield
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise ImportRefused(f"{path.name}: 压缩包已损坏，请重新下载 (corrupt zip: {exc})") from None


def documents_in(path: Path) -> Iterator[tuple[str, bytes]]:
    """(file name, document) for every document in an XML file or in the .xml members of a zip
    (bulk downloads come zipped: one big file for USPTO, one file per patent for CNIPA)."""
    if zipfile.is_zipfile(path):
        with refused_if_corrupt(path), zipfile.ZipFile(path) as archive:
            for member in sorted(n for n in archive.namelist() if n.lower().endswith(".xml")):
                with archive.open(member) as lines:
                    for document in split_documents(lines):
                        yield member, document
        return
    with path.open("rb") as lines:
        for document in split_documents(lines):
            yield path.name, document


def first_bytes(path: Path, size: int = 512) -> bytes:
    """The start of the file, or of its first .xml member when zipped (to tell formats apart)."""
    if zipfile.is_zipfile(path):
        with refused_if_corrupt(path), zipfile.ZipFile(path) as archive:
            members = sorted(n for n in archive.namelist() if n.lower().endswith(".xml"))
            return archive.open(members[0]).read(size) if members else b""
    with path.open("rb") as stream:
        return stream.read(size)


def parse_document(document: bytes) -> ET.Element:
    """The root element; ET.ParseError when the document is not well-formed XML.

    Named character entities (&lsqb; &minus; &deg; …) are defined in DTDs that the parser does
    not read, so they are replaced by the characters first; an unknown one is kept as text."""
    return ET.fromstring(_NAMED_ENTITY.sub(_character_reference, document))


def _character_reference(match: re.Match[bytes]) -> bytes:
    name = match[1].decode("ascii")
    if name in _XML_ENTITIES:
        return match[0]
    characters = html.entities.html5.get(f"{name};")
    if characters is None:
        return b"&amp;" + match[1] + b";"
    return "".join(f"&#{ord(c)};" for c in characters).encode("ascii")


def child_or_empty(root: ET.Element, *paths: str) -> ET.Element:
    """The first element found at one of `paths`, else an empty one: a document missing its
    bibliographic part gives empty fields (and is quarantined), not an AttributeError."""
    for path in paths:
        if (found := root.find(path)) is not None:
            return found
    return ET.Element("missing")


def text_of(element: ET.Element | None) -> str:
    """All the text inside an element, whitespace collapsed ('' for a missing element)."""
    return " ".join("".join(element.itertext()).split()) if element is not None else ""


def text_at(element: ET.Element | None, path: str) -> str | None:
    """Text of the first element at `path` under `element`, None when absent or empty."""
    found = element.find(path) if element is not None else None
    return text_of(found) or None


def texts_at(element: ET.Element | None, path: str) -> list[str]:
    """Texts of every element at `path`, empty ones left out."""
    return [t for t in (text_of(e) for e in element.iterfind(path)) if t] if element is not None else []


def paragraphs(element: ET.Element | None, tag: str) -> str | None:
    """The `tag` paragraphs under an element, one per line (abstract paragraphs, claims)."""
    if element is None:
        return None
    return "\n".join(t for t in (text_of(p) for p in element.iter(tag)) if t) or None


def document_excerpt(document: bytes, limit: int = 20_000) -> str:
    """The start of a document that could not be read, kept with its quarantine record."""
    return document[:limit].decode("utf-8", errors="replace")
