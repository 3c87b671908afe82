"""Ed25519 signatures of model files and reports (detached ``FILE.sig``), keys given by the user.

What each check proves:

* a model file's **checksums** (always verified by ``load``/``info``) prove it is intact —
  not corrupted, not edited carelessly. Anyone can recompute them after a deliberate edit,
  so an unsigned file proves nothing about who made it;
* a valid **signature** proves the file is byte for byte the one signed by the holder of the
  private key whose public key you trust (so a report's ledger comes from that model).

Files::

    key.pem        PKCS#8 PEM Ed25519 private key (unencrypted; keep it secret)
    key.pub.pem    SubjectPublicKeyInfo PEM public key (give it to reviewers)
    FILE.sig       JSON: {"format": "tabsynth-signature", "version": 1, "algorithm": "ed25519",
                          "file": <name>, "sha256": <hex>, "public_key_sha256": <hex>,
                          "signature": <base64 of sign(b"tabsynth-signature-v1\\n" + digest)>}

Keys made by ``openssl genpkey -algorithm ed25519 -out key.pem`` and
``openssl pkey -in key.pem -pubout -out key.pub.pem`` work too. Needs the ``cryptography``
package (imported only when signing or verifying).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from .errors import SignatureError

__all__ = ["generate_key", "sign_bytes", "sign_file", "signature_path", "verify_file"]

FORMAT = "tabsynth-signature"
VERSION = 1
_DOMAIN = b"tabsynth-signature-v1\n"


def _crypto() -> Any:
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError:
        raise SignatureError(
            "Signing needs the 'cryptography' package: pip install cryptography"
        ) from None
    return serialization, ed25519


def signature_path(path: str | os.PathLike) -> Path:
    """The default detached signature of ``path``: ``path`` + ``.sig``."""
    p = Path(path)
    return p.with_name(p.name + ".sig")


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except FileNotFoundError:
        raise SignatureError(f"The file {str(path)!r} does not exist.") from None
    except IsADirectoryError:
        raise SignatureError(f"{str(path)!r} is a directory, not a file.") from None
    return h.hexdigest()


def _read_key(path: str | os.PathLike, *, private: bool) -> Any:
    serialization, ed25519 = _crypto()
    kind = "private" if private else "public"
    p = Path(path)
    if not p.is_file():
        raise SignatureError(f"The {kind} key file {str(p)!r} does not exist.")
    data = p.read_bytes()
    try:
        key = (serialization.load_pem_private_key(data, password=None) if private
               else serialization.load_pem_public_key(data))
    except TypeError:
        raise SignatureError(
            f"The private key {str(p)!r} is encrypted; tabsynth reads unencrypted PEM keys "
            "(protect the file with permissions instead)."
        ) from None
    except (ValueError, Exception) as exc:  # noqa: BLE001 - cryptography raises several types
        other = "public" if private else "private"
        hint = f" (is it the {other} key?)" if b"PRIVATE" in data or b"PUBLIC" in data else ""
        raise SignatureError(
            f"{str(p)!r} is not a PEM Ed25519 {kind} key{hint}: {type(exc).__name__}."
        ) from None
    expected = ed25519.Ed25519PrivateKey if private else ed25519.Ed25519PublicKey
    if not isinstance(key, expected):
        raise SignatureError(f"{str(p)!r} is a {type(key).__name__}, not an Ed25519 {kind} key.")
    return key


def _public_fingerprint(public_key: Any) -> str:
    serialization, _ = _crypto()
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def generate_key(private_path: str | os.PathLike,
                 public_path: str | os.PathLike | None = None) -> tuple[Path, Path]:
    """Write a new Ed25519 key pair (private PEM with mode 0600, public PEM). Never overwrites."""
    from ._atomic import atomic_outputs

    serialization, ed25519 = _crypto()
    priv = Path(private_path)
    pub = Path(public_path) if public_path is not None else priv.with_name(priv.stem + ".pub.pem")
    for p in (priv, pub):
        if p.exists():
            from .errors import ParameterError

            raise ParameterError(f"{str(p)!r} already exists; tabsynth never overwrites a key.")
    key = ed25519.Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    with atomic_outputs(priv, pub) as (priv_tmp, pub_tmp):
        os.chmod(priv_tmp, 0o600)  # before the secret is written
        priv_tmp.write_bytes(private_pem)
        pub_tmp.write_bytes(public_pem)
    return priv, pub


def load_private_key(path: str | os.PathLike) -> Any:
    """Read (and check) a private key, e.g. before a long fit that will be signed."""
    return _read_key(path, private=True)


def sign_bytes(digest_hex: str, name: str, private_key: Any) -> bytes:
    """The signature document (JSON bytes) for a file of sha256 ``digest_hex`` named ``name``."""
    signature = private_key.sign(_DOMAIN + bytes.fromhex(digest_hex))
    doc = {
        "format": FORMAT, "version": VERSION, "algorithm": "ed25519", "file": name,
        "sha256": digest_hex, "public_key_sha256": _public_fingerprint(private_key.public_key()),
        "signature": base64.b64encode(signature).decode("ascii"),
    }
    return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode("utf-8")


def sign_file(path: str | os.PathLike, key: str | os.PathLike | Any,
              output: str | os.PathLike | None = None, *, name: str | None = None) -> Path:
    """Sign ``path`` with the private ``key`` (a PEM path or a loaded key); write ``FILE.sig``.

    ``name`` is the file name recorded in the signature (default: ``path``'s name).
    """
    from ._atomic import atomic_path

    p = Path(path)
    private_key = key if hasattr(key, "sign") else _read_key(key, private=True)
    doc = sign_bytes(_sha256_file(p), name or p.name, private_key)
    out = Path(output) if output is not None else signature_path(p)
    with atomic_path(out) as tmp:
        tmp.write_bytes(doc)
    return out


def verify_file(path: str | os.PathLike, public_key: str | os.PathLike,
                signature: str | os.PathLike | None = None) -> dict[str, Any]:
    """Check ``path`` against its detached signature with the trusted ``public_key``.

    A tabsynth model file is also verified as :func:`tabsynth.load` does. Returns the
    signature document.

    Raises
    ------
    SignatureError
        Missing/malformed signature or key, wrong key, or the file differs from the signed one.
    ModelFileError
        A model file that fails its own checks.
    """
    _, ed25519 = _crypto()
    p = Path(path)
    sig_path = Path(signature) if signature is not None else signature_path(p)
    if not sig_path.is_file():
        raise SignatureError(
            f"No signature for {str(p)!r}: {str(sig_path)!r} does not exist (the file is unsigned)."
        )
    try:
        doc = json.loads(sig_path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise SignatureError(f"{str(sig_path)!r} is not a tabsynth signature (not JSON).") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise SignatureError(f"{str(sig_path)!r} is not a tabsynth signature file.")
    if doc.get("version") != VERSION or doc.get("algorithm") != "ed25519":
        raise SignatureError(
            f"{str(sig_path)!r} has version {doc.get('version')!r} / algorithm "
            f"{doc.get('algorithm')!r}; this tabsynth reads version 1, ed25519."
        )
    key = _read_key(public_key, private=False)
    digest = _sha256_file(p)
    if doc.get("public_key_sha256") != _public_fingerprint(key):
        raise SignatureError(
            f"{str(sig_path)!r} was made with another key than {str(public_key)!r}."
        )
    if doc.get("sha256") != digest:
        raise SignatureError(
            f"{str(p)!r} is not the file that was signed: its sha256 differs from the "
            "signature's (the file was changed after signing)."
        )
    try:
        raw = base64.b64decode(str(doc.get("signature", "")), validate=True)
        key.verify(raw, _DOMAIN + bytes.fromhex(digest))
    except Exception:  # noqa: BLE001 - InvalidSignature, binascii.Error, ValueError
        raise SignatureError(
            f"The signature in {str(sig_path)!r} is not valid for {str(p)!r} with this key "
            "(forged or damaged signature)."
        ) from None
    if is_model_file(p):
        from .artifact import verify_model_file

        verify_model_file(p)
    return doc


def is_model_file(p: Path) -> bool:
    import zipfile

    try:
        with zipfile.ZipFile(p) as zf:
            return "manifest.json" in zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return False
