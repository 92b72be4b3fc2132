"""Types for annotations: what coffer.inspect() returns.

>>> import coffer
>>> info: coffer.EnvelopeInfo = coffer.inspect(coffer.seal(b"x", [coffer.Recipient.kek("k", coffer.Kek.generate())]))
>>> info["recipients"][0]["kind"]
'kek'
"""

from typing import Dict, List, Literal, Optional, TypedDict


class RecipientInfo(TypedDict):
    """One recipient of an envelope, as inspect() reports it: kind, key id and version."""

    kind: Literal["kek", "rsa", "p256", "unknown"]
    key_id: bytes
    version: int


class EnvelopeInfo(TypedDict):
    """What inspect() reads from an envelope's header; none of it is authenticated until the envelope opens."""

    format_version: int
    chunk_size: int
    header_len: int
    payload_len: int
    envelope_len: int
    plaintext_len: Optional[int]
    context: Dict[bytes, bytes]
    recipients: List[RecipientInfo]
