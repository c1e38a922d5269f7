"""Sign and verify model folders and files with the OpenSSF ``model-signing`` library.

A signature covers every file of a model folder (or the single file): it is a Sigstore bundle whose DSSE
payload is an in-toto statement listing each file's name and digest. Three ways to sign:

* a private key (EC P-256/P-384/P-521), verified with the matching public key — works offline;
* a private key plus a signing certificate and its chain, verified against a trusted CA — works offline;
* Sigstore keyless signing (an OIDC identity, Fulcio and Rekor) — needs a network.

The signature goes to ``<model>/model.sig`` for a folder (that file is then left out of the hashing) or
``<file>.sig`` next to a single file, unless the caller names another place.

``model-signing`` and ``pyopenssl`` are an optional extra (``clearsight[signing]``): they are imported only
when signing or verifying, and their absence is reported as a :class:`SigningUnavailableError` naming the
extra. Every library exception is mapped here to a :class:`~clearsight.core.errors.ClearsightError` with a
one-line message. A model that fails verification is not an exception: :func:`verify_model` returns a
:class:`VerifyResult` with ``ok=False`` and problems naming each changed, missing or extra file, or the key.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import importlib
import importlib.metadata
import io
import json
import os
import re
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from pydantic import Field

from clearsight.core.base import Frozen
from clearsight.core.errors import ClearsightError, InputError

SignMethod = Literal["key", "certificate", "sigstore"]
HashAlgorithm = Literal["sha256", "blake2", "blake3"]

SIGNATURE_NAME = "model.sig"
"""Default signature file name inside a signed model folder."""

INSTALL_HINT = "pip install 'clearsight[signing]'"
_MIN_LIBRARY = (1, 1)
_CURVES = ("secp256r1", "secp384r1", "secp521r1")
_SIGSTORE_TOKEN_ENV = "SIGSTORE_IDENTITY_TOKEN"


# --------------------------------------------------------------------------------------------- errors


class SigningError(ClearsightError):
    """Signing or verification could not run (this is not "the model failed verification")."""


class SigningUnavailableError(SigningError):
    """The optional ``signing`` extra (``model-signing``, ``pyopenssl``) is not installed."""


class SigstoreUnavailableError(SigningError):
    """Sigstore keyless signing or verification needs services (TUF, OIDC, Fulcio, Rekor) we cannot reach."""


# --------------------------------------------------------------------------------------------- results


class SignResult(Frozen):
    """What was signed, by whom, and where the signature went."""

    model: str
    signature: str
    method: SignMethod
    signer: str = Field(description="Key fingerprint, certificate subject or Sigstore identity.")
    files: int = Field(description="Files covered by the signature.")
    digest: str = Field(description="SHA-256 over all file digests (the in-toto subject digest).")
    hash_algorithm: str
    seconds: float


class VerifyResult(Frozen):
    """Outcome of checking a model against its signature; ``problems`` says why when ``ok`` is false."""

    ok: bool
    model: str
    signature: str
    method: SignMethod
    signer: str | None = Field(None, description="Who signed, set only when the signature verified.")
    files: int = Field(0, description="Files listed in the signed manifest.")
    problems: list[str] = Field(default_factory=list)
    changed: list[str] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)
    extra: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        """One line for a terminal or a log."""
        if self.ok:
            return f"verified: {self.model} ({self.files} files) signed by {self.signer or 'unknown signer'}"
        return f"verification failed: {self.model}: " + "; ".join(self.problems)


# --------------------------------------------------------------------------------------------- library


@dataclass(frozen=True)
class _Library:
    signing: ModuleType
    verifying: ModuleType
    hashing: ModuleType


def signing_available() -> bool:
    """Whether the ``signing`` extra is installed (without raising)."""
    try:
        _load()
    except SigningUnavailableError:
        return False
    return True


def require_signing() -> None:
    """Raise :class:`SigningUnavailableError` with an install hint when the ``signing`` extra is missing."""
    _load()


def _load() -> _Library:
    try:
        signing = importlib.import_module("model_signing.signing")
        verifying = importlib.import_module("model_signing.verifying")
        hashing = importlib.import_module("model_signing.hashing")
        importlib.import_module("OpenSSL.crypto")
    except ImportError as exc:
        missing = exc.name or "model_signing"
        raise SigningUnavailableError(
            f"model signing needs the optional 'signing' extra (missing module {missing!r}): {INSTALL_HINT}"
        ) from None
    try:
        version = importlib.metadata.version("model-signing")
    except importlib.metadata.PackageNotFoundError:
        version = ""
    numbers = tuple(int(part) for part in re.findall(r"\d+", version)[:2])
    if numbers and numbers < _MIN_LIBRARY:
        raise SigningUnavailableError(
            f"model-signing {version} is too old (need >= 1.1.1): {INSTALL_HINT} --upgrade"
        )
    return _Library(signing=signing, verifying=verifying, hashing=hashing)


# --------------------------------------------------------------------------------------------- signing


def default_signature_path(model: Path) -> Path:
    """``<model>/model.sig`` for a folder, ``<file>.sig`` next to a single file."""
    if model.is_dir():
        return model / SIGNATURE_NAME
    return model.with_name(model.name + ".sig")


def sign_model(
    path: Path,
    *,
    private_key: Path,
    signature: Path | None = None,
    password: bytes | None = None,
    ignore_paths: Sequence[str | Path] = (),
    ignore_git_paths: bool = True,
    allow_symlinks: bool = False,
    hash_algorithm: HashAlgorithm = "sha256",
) -> SignResult:
    """Sign every file of ``path`` (a folder or one file) with an EC private key in PEM form.

    ``ignore_paths`` are relative to the model folder (or absolute inside it); ``.git`` and friends are
    left out unless ``ignore_git_paths`` is false.
    """
    lib = _load()
    _check_private_key(private_key, password)

    def configure(config: Any) -> Any:
        return config.use_elliptic_key_signer(private_key=private_key, password=password)

    return _sign(
        lib, path, signature, "key", configure, ignore_paths=ignore_paths, ignore_git_paths=ignore_git_paths,
        allow_symlinks=allow_symlinks, hash_algorithm=hash_algorithm,
    )


def sign_model_with_certificate(
    path: Path,
    *,
    private_key: Path,
    signing_certificate: Path,
    certificate_chain: Sequence[Path] = (),
    signature: Path | None = None,
    ignore_paths: Sequence[str | Path] = (),
    ignore_git_paths: bool = True,
    allow_symlinks: bool = False,
    hash_algorithm: HashAlgorithm = "sha256",
) -> SignResult:
    """Sign with an (unencrypted) EC private key whose public half is in ``signing_certificate``.

    ``certificate_chain`` holds the intermediate (and optionally root) certificates, PEM, embedded in the
    signature so a verifier only needs the root it trusts.
    """
    lib = _load()
    key = _check_private_key(private_key, None)
    _check_signing_certificate(signing_certificate, key)
    for chain_file in certificate_chain:
        _load_certificates(chain_file, "certificate chain")

    # model-signing 1.1.1 fails on an empty chain; repeating the leaf is harmless for path building.
    chain = list(certificate_chain) or [signing_certificate]

    def configure(config: Any) -> Any:
        return config.use_certificate_signer(
            private_key=private_key, signing_certificate=signing_certificate, certificate_chain=chain
        )

    return _sign(
        lib, path, signature, "certificate", configure, ignore_paths=ignore_paths,
        ignore_git_paths=ignore_git_paths, allow_symlinks=allow_symlinks, hash_algorithm=hash_algorithm,
    )


def sign_model_sigstore(
    path: Path,
    *,
    signature: Path | None = None,
    identity_token: str | None = None,
    oidc_issuer: str | None = None,
    use_staging: bool = False,
    trust_config: Path | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    interactive: bool = False,
    ignore_paths: Sequence[str | Path] = (),
    ignore_git_paths: bool = True,
    allow_symlinks: bool = False,
    hash_algorithm: HashAlgorithm = "sha256",
) -> SignResult:
    """Keyless signing with Sigstore: an OIDC identity gets a short-lived Fulcio certificate, logged in Rekor.

    The identity comes from ``identity_token``, else ``$SIGSTORE_IDENTITY_TOKEN``, else ambient CI
    credentials (e.g. GitHub Actions with ``id-token: write``), else — only when ``interactive`` — a browser
    login. Needs a network: offline it fails with :class:`SigstoreUnavailableError`.
    """
    lib = _load()
    token = identity_token or os.environ.get(_SIGSTORE_TOKEN_ENV) or None
    if token is None:
        token = _ambient_token(client_id)
    if token is None and not interactive:
        raise InputError(
            "Sigstore keyless signing needs an OIDC identity and none was found",
            hint=f"pass an identity token (or set ${_SIGSTORE_TOKEN_ENV}), run in CI with OIDC credentials, "
            "allow interactive login, or sign with a key or certificate instead",
        )
    if trust_config is not None:
        _read_input(trust_config, "Sigstore trust configuration")

    def configure(config: Any) -> Any:
        return config.use_sigstore_signer(
            oidc_issuer=oidc_issuer, use_ambient_credentials=False, use_staging=use_staging,
            identity_token=token, client_id=client_id, client_secret=client_secret, trust_config=trust_config,
        )

    return _sign(
        lib, path, signature, "sigstore", configure, ignore_paths=ignore_paths,
        ignore_git_paths=ignore_git_paths, allow_symlinks=allow_symlinks, hash_algorithm=hash_algorithm,
    )


def _sign(
    lib: _Library,
    path: Path,
    signature: Path | None,
    method: SignMethod,
    configure: Callable[[Any], Any],
    *,
    ignore_paths: Sequence[str | Path],
    ignore_git_paths: bool,
    allow_symlinks: bool,
    hash_algorithm: HashAlgorithm,
) -> SignResult:
    model = _model_path(path)
    sig = _absolute(signature) if signature is not None else default_signature_path(model)
    if sig == model or (model.is_dir() and sig.is_dir()):
        raise InputError("the signature must be a file path, not the model itself", path=str(sig))
    if not sig.parent.is_dir():
        raise InputError("folder for the signature does not exist", path=str(sig.parent))
    ignored = _ignored_paths(model, ignore_paths, sig)
    started = time.perf_counter()
    with _library_errors(method, "signing"):
        config = configure(lib.signing.Config())
        hashing = _hashing_config(
            lib, method="files", algorithm=hash_algorithm, shard_size=None, ignored=ignored,
            ignore_git_paths=ignore_git_paths, allow_symlinks=allow_symlinks,
        )
        config.set_hashing_config(hashing).sign(model, sig)
    seconds = time.perf_counter() - started
    signed = _read_signature(sig)
    return SignResult(
        model=str(model), signature=str(sig), method=method, signer=signed.signer(), files=len(signed.files()),
        digest=signed.root_digest, hash_algorithm=hash_algorithm, seconds=round(seconds, 4),
    )


# --------------------------------------------------------------------------------------------- verifying


def verify_model(
    path: Path,
    *,
    public_key: Path | None = None,
    certificate_chain: Sequence[Path] | None = None,
    identity: str | None = None,
    oidc_issuer: str | None = None,
    use_staging: bool = False,
    trust_config: Path | None = None,
    signature: Path | None = None,
    ignore_paths: Sequence[str | Path] = (),
    ignore_git_paths: bool = True,
    allow_symlinks: bool = False,
) -> VerifyResult:
    """Check ``path`` against its signature with exactly one of: ``public_key``; ``certificate_chain``
    (PEM roots to trust; an empty list means the system roots); or ``identity`` + ``oidc_issuer`` (Sigstore).

    Returns ``ok=False`` with problems naming each changed, missing or extra file, or saying that the key
    or certificate does not match. Raises :class:`InputError` for unusable input (missing model or
    signature, unreadable key) and :class:`SigningError` when verification cannot run at all.
    """
    lib = _load()
    method = _verify_method(public_key, certificate_chain, identity, oidc_issuer)
    model = _model_path(path)
    sig = _absolute(signature) if signature is not None else default_signature_path(model)
    if not sig.is_file():
        raise InputError(
            "signature not found", path=str(sig), hint="sign the model first or name the signature file"
        )
    signed = _read_signature(sig)
    ignored = _ignored_paths(model, ignore_paths, sig)
    started = time.perf_counter()

    def result(ok: bool, problems: Sequence[str] = (), *, signer: str | None = None,
               changed: Sequence[str] = (), missing: Sequence[str] = (), extra: Sequence[str] = (),
               notes: Sequence[str] = ()) -> VerifyResult:
        return VerifyResult(
            ok=ok, model=str(model), signature=str(sig), method=method, signer=signer,
            files=len(signed.files()), problems=list(problems), changed=list(changed), missing=list(missing),
            extra=list(extra), notes=list(notes), seconds=round(time.perf_counter() - started, 4),
        )

    if signed.kind != method:
        return result(False, [
            f"signature {sig.name} was made with {_KIND_WORDS[signed.kind]}, not with {_KIND_WORDS[method]}: "
            "wrong verification method, or the signature was replaced"
        ])

    config = lib.verifying.Config()
    with _library_errors(method, "verification"):
        if public_key is not None:
            _check_public_key(public_key)
            config.use_elliptic_key_verifier(public_key=public_key)
        elif certificate_chain is not None:
            for chain_file in certificate_chain:
                _load_certificates(chain_file, "trusted certificate")
            config.use_certificate_verifier(certificate_chain=list(certificate_chain))
        else:
            if trust_config is not None:
                _read_input(trust_config, "Sigstore trust configuration")
            config.use_sigstore_verifier(
                identity=identity, oidc_issuer=oidc_issuer, use_staging=use_staging, trust_config=trust_config
            )

    def hashing_config() -> Any:
        return _hashing_config(
            lib, method=signed.method, algorithm=signed.hash_type, shard_size=signed.shard_size,
            ignored=ignored + signed.ignore_paths(model), ignore_git_paths=ignore_git_paths,
            allow_symlinks=allow_symlinks,
        )

    printed = io.StringIO()
    try:
        with _library_errors(method, "verification", rejections=True), contextlib.redirect_stdout(printed):
            config.set_hashing_config(hashing_config()).verify(model, sig)
    except _Rejected as rejected:
        notes = _printed_notes(printed)
        if rejected.kind == "mismatch":
            with _library_errors(method, "verification"):
                changed, missing, extra = _diff(signed, hashing_config().hash(model), model)
            problems = [f"changed: {name} (content differs from the signed digest)" for name in changed]
            problems += [f"missing: {name} (signed but not found)" for name in missing]
            problems += [f"extra: {name} (not covered by the signature)" for name in extra]
            if not problems:
                problems = ["model content does not match the signed manifest"]
            return result(False, problems, changed=changed, missing=missing, extra=extra, notes=notes)
        message = _rejection_message(rejected, public_key, sig, signed.signer(), model)
        return result(False, [message], notes=notes)
    signer = _key_signer(public_key) if public_key is not None else signed.signer()
    if method == "sigstore":
        signer = f"{identity} ({oidc_issuer})"
    return result(True, signer=signer, notes=_printed_notes(printed))


_KIND_WORDS: dict[str, str] = {
    "key": "a private key", "certificate": "a signing certificate", "sigstore": "Sigstore keyless signing",
}


def _verify_method(
    public_key: Path | None, certificate_chain: Sequence[Path] | None, identity: str | None, oidc_issuer: str | None
) -> SignMethod:
    chosen: list[SignMethod] = []
    if public_key is not None:
        chosen.append("key")
    if certificate_chain is not None:
        chosen.append("certificate")
    if identity is not None or oidc_issuer is not None:
        if not (identity and oidc_issuer):
            raise InputError("Sigstore verification needs both an identity and an OIDC issuer")
        chosen.append("sigstore")
    if len(chosen) != 1:
        raise InputError(
            "choose exactly one way to verify: a public key, a certificate chain, or a Sigstore identity + issuer"
        )
    return chosen[0]


def _rejection_message(rejected: _Rejected, public_key: Path | None, sig: Path, signer: str, model: Path) -> str:
    if rejected.kind == "key":
        return (
            f"wrong key: {public_key} does not match the key that signed {sig.name}"
            if public_key is not None
            else f"wrong key: the signature {sig.name} was not made with the trusted key"
        )
    if rejected.kind == "bad-signature":
        which = f"key {public_key}" if public_key is not None else "the signing certificate"
        return f"signature does not verify with {which}: wrong key, or the signature file was altered"
    if rejected.kind == "certificate":
        return f"signing certificate {signer} is not trusted: {rejected.detail}"
    if rejected.kind == "symlink":
        return f"symlink not allowed: {_symlink_name(rejected.detail, model)} (pass allow_symlinks if intended)"
    return f"signature rejected: {rejected.detail}"


def _symlink_name(message: str, model: Path) -> str:
    found = re.search(r"Cannot use '(.+?)' because it is a symlink", message)
    if not found:
        return message
    link = Path(found.group(1))
    return str(link.relative_to(model)) if link.is_relative_to(model) else str(link)


def _printed_notes(printed: io.StringIO) -> list[str]:
    return [" ".join(line.split()) for line in printed.getvalue().splitlines() if line.strip()]


def _diff(signed: _SignedManifest, actual_manifest: Any, model: Path) -> tuple[list[str], list[str], list[str]]:
    """Which files differ between the signed manifest and a fresh hash of the model."""
    actual: dict[str, str] = {
        rd.identifier: f"{rd.digest.algorithm}:{rd.digest.digest_hex}" for rd in actual_manifest.resource_descriptors()
    }
    expected_files = _group_by_file(signed.resources, signed.method)
    actual_files = _group_by_file(actual, signed.method)
    missing = sorted(set(expected_files) - set(actual_files))
    extra = sorted(set(actual_files) - set(expected_files))
    changed = sorted(name for name in set(expected_files) & set(actual_files)
                     if expected_files[name] != actual_files[name])

    def shown(name: str) -> str:
        return model.name if name == "." else name

    return [shown(n) for n in changed], [shown(n) for n in missing], [shown(n) for n in extra]


def _group_by_file(resources: dict[str, str], method: str) -> dict[str, dict[str, str]]:
    files: dict[str, dict[str, str]] = {}
    for identifier, digest in resources.items():
        name = identifier.rsplit(":", 2)[0] if method == "shards" else identifier
        files.setdefault(name, {})[identifier] = digest
    return files


# --------------------------------------------------------------------------------------------- error mapping


class _Rejected(Exception):
    """The library rejected the model or signature: a verification failure, not an error."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


@contextlib.contextmanager
def _library_errors(method: SignMethod, action: str, *, rejections: bool = False) -> Iterator[None]:
    """Map what ``model-signing`` (and sigstore, cryptography, pyOpenSSL) raise to Clearsight errors.

    With ``rejections``, a failed check of the model or signature becomes :class:`_Rejected` (a result,
    not an error).
    """
    try:
        with warnings.catch_warnings():
            # pyOpenSSL/cryptography deprecation notes about system CA bundles are noise to a CLI user
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            yield
    except (ClearsightError, _Rejected):
        raise
    except Exception as exc:
        raise _mapped(exc, method, action, rejections) from None


def _mapped(exc: Exception, method: SignMethod, action: str, rejections: bool) -> Exception:
    from cryptography.exceptions import InvalidSignature
    from OpenSSL.crypto import X509StoreContextError

    module = type(exc).__module__
    message = _one_line(exc)
    if rejections:
        if isinstance(exc, InvalidSignature):
            return _Rejected("bad-signature", message)
        if isinstance(exc, X509StoreContextError):
            return _Rejected("certificate", message)
        if isinstance(exc, ValueError):
            if message.startswith("Signature mismatch"):
                return _Rejected("mismatch", message)
            if message.startswith("Key mismatch"):
                return _Rejected("key", message)
            if "symlink" in message:
                return _Rejected("symlink", message)
            if "cannot be used for signing" in message or "public key from the certificate" in message:
                return _Rejected("certificate", message)
            return _Rejected("invalid", message)
    if method == "sigstore" and module.split(".")[0] in {"sigstore", "tuf", "id", "requests", "urllib3"}:
        if rejections and type(exc).__name__ == "VerificationError":
            return _Rejected("invalid", message)
        if type(exc).__name__ in {"IdentityError", "ExpiredIdentity"}:
            return InputError(f"Sigstore identity token rejected: {message}")
        return SigstoreUnavailableError(
            f"Sigstore keyless {action} needs network access to Sigstore (trust root, OIDC, Fulcio, Rekor) "
            f"and it failed: {message}; {_offline_advice(action)}"
        )
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        if method == "sigstore" and not exc.filename:
            return SigstoreUnavailableError(
                f"Sigstore keyless {action} needs network access and it failed: {message}; {_offline_advice(action)}"
            )
        return SigningError(f"{action} failed: {where}{exc.strerror or message}")
    if isinstance(exc, ValueError) and "symlink" in message:
        found = re.search(r"Cannot use '(.+?)' because it is a symlink", message)
        return InputError("symlinks are not allowed in a signed model", path=found.group(1) if found else None,
                          hint="pass allow_symlinks if links are intended")
    return SigningError(f"{action} failed: {type(exc).__name__}: {message}")


def _offline_advice(action: str) -> str:
    if action == "signing":
        return "offline, sign with a key or a certificate instead"
    return "offline, pass a Sigstore trust configuration file (trust_config)"


def _ambient_token(client_id: str | None) -> str | None:
    try:
        oidc = importlib.import_module("sigstore.oidc")
        token: str | None = oidc.detect_credential(client_id or "sigstore")
    except Exception as exc:
        raise SigstoreUnavailableError(f"could not get ambient OIDC credentials for Sigstore: {_one_line(exc)}") \
            from None
    return token


# --------------------------------------------------------------------------------------------- inputs


def _absolute(path: Path) -> Path:
    return Path(os.path.abspath(path))


def _model_path(path: Path) -> Path:
    model = _absolute(path)
    if not model.exists():
        raise InputError("model not found", path=str(path))
    if not (model.is_dir() or model.is_file()):
        raise InputError("model must be a folder or a regular file", path=str(path))
    return model


def _read_input(path: Path, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(f"{what} not found", path=str(path)) from None
    except IsADirectoryError:
        raise InputError(f"{what} is a folder, expected a file", path=str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror}", path=str(path)) from None


def _ignored_paths(model: Path, ignore_paths: Sequence[str | Path], signature: Path) -> list[Path]:
    """Paths relative to the model folder to leave out of hashing (the signature itself when inside)."""
    if not model.is_dir():
        return []
    root = model.resolve()
    ignored: list[Path] = []
    for raw in ignore_paths:
        candidate = Path(raw)
        full = (candidate if candidate.is_absolute() else model / candidate).resolve()
        if not full.is_relative_to(root):
            raise InputError("ignored path is outside the model folder", path=str(raw))
        ignored.append(full.relative_to(root))
    sig = signature.resolve()
    if sig.is_relative_to(root):
        ignored.append(sig.relative_to(root))
    return ignored


def _hashing_config(
    lib: _Library,
    *,
    method: str,
    algorithm: str,
    shard_size: int | None,
    ignored: list[Path],
    ignore_git_paths: bool,
    allow_symlinks: bool,
) -> Any:
    config = lib.hashing.Config()
    if method == "shards":
        config.use_shard_serialization(
            hashing_algorithm=algorithm, shard_size=shard_size or 1_000_000_000, allow_symlinks=allow_symlinks
        )
    else:
        config.use_file_serialization(hashing_algorithm=algorithm, allow_symlinks=allow_symlinks)
    config.set_ignored_paths(paths=ignored, ignore_git_paths=ignore_git_paths)
    config.set_allow_symlinks(allow_symlinks)
    return config


def _check_private_key(path: Path, password: bytes | None) -> Any:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    data = _read_input(path, "private key")
    try:
        key = serialization.load_pem_private_key(data, password)
    except TypeError as exc:
        hint = "pass the key's password" if "encrypted" in str(exc) else None
        raise InputError(f"cannot load the private key: {_one_line(exc)}", path=str(path), hint=hint) from None
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise InputError(
            f"cannot load the private key: {_one_line(exc)}", path=str(path),
            hint="expected a PEM EC private key (and the right password if it is encrypted)",
        ) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name not in _CURVES:
        raise InputError(
            f"unsupported key type {type(key).__name__}: model signing needs an EC key on P-256, P-384 or P-521",
            path=str(path),
        )
    return key


def _check_public_key(path: Path) -> None:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    data = _read_input(path, "public key")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm) as exc:
        hint = "this is a certificate: verify with a certificate chain" if b"CERTIFICATE-----" in data else \
            "expected a PEM public key (SubjectPublicKeyInfo)"
        raise InputError(f"cannot load the public key: {_one_line(exc)}", path=str(path), hint=hint) from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name not in _CURVES:
        raise InputError(
            f"unsupported key type {type(key).__name__}: model signing needs an EC key on P-256, P-384 or P-521",
            path=str(path),
        )


def _load_certificates(path: Path, what: str) -> list[Any]:
    from cryptography import x509

    data = _read_input(path, what)
    try:
        return list(x509.load_pem_x509_certificates(data))
    except ValueError as exc:
        raise InputError(f"cannot load {what}: {_one_line(exc)}", path=str(path),
                         hint="expected PEM certificates") from None


def _check_signing_certificate(path: Path, private_key: Any) -> None:
    certificate = _load_certificates(path, "signing certificate")[0]
    if certificate.public_key() != private_key.public_key():
        raise InputError("the signing certificate does not belong to the private key", path=str(path))


def _key_signer(public_key: Path) -> str:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_public_key(_read_input(public_key, "public key"))
    pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return f"key sha256:{hashlib.sha256(pem).hexdigest()[:16]} ({public_key.name})"


# --------------------------------------------------------------------------------------------- signature file


@dataclass(frozen=True)
class _SignedManifest:
    """What a signature file claims, read without verifying it (verification is the library's job)."""

    kind: SignMethod
    resources: dict[str, str]
    method: str
    hash_type: str
    shard_size: int | None
    signed_ignores: tuple[str, ...]
    root_digest: str
    key_hint: str | None
    leaf_certificate: bytes | None

    def files(self) -> set[str]:
        return set(_group_by_file(self.resources, self.method))

    def ignore_paths(self, model: Path) -> list[Path]:
        if not model.is_dir():
            return []
        root = model.resolve()
        kept = []
        for raw in self.signed_ignores:
            full = (model / raw).resolve()
            if full.is_relative_to(root):
                kept.append(full.relative_to(root))
        return kept

    def signer(self) -> str:
        if self.kind == "key":
            return f"key sha256:{self.key_hint[:16]}" if self.key_hint else "key (no fingerprint recorded)"
        if self.leaf_certificate is None:
            return "unknown certificate"
        return _certificate_name(self.leaf_certificate, sigstore=self.kind == "sigstore")


def _certificate_name(der: bytes, *, sigstore: bool) -> str:
    from cryptography import x509

    try:
        certificate = x509.load_der_x509_certificate(der)
    except ValueError:
        return "unreadable certificate"
    if sigstore:
        try:
            names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            values = [str(v) for v in names.get_values_for_type(x509.RFC822Name)]
            values += [str(v) for v in names.get_values_for_type(x509.UniformResourceIdentifier)]
            if values:
                return ", ".join(values)
        except x509.ExtensionNotFound:
            pass
    return certificate.subject.rfc4514_string() or "certificate with an empty subject"


def _read_signature(path: Path) -> _SignedManifest:
    raw = _read_input(path, "signature")

    def bad(why: str) -> InputError:
        return InputError(f"not a model-signing signature: {why}", path=str(path),
                          hint="expected a Sigstore bundle written by model signing")

    try:
        bundle = json.loads(raw)
        material = bundle["verificationMaterial"]
        envelope = bundle["dsseEnvelope"]
        statement = json.loads(base64.b64decode(envelope["payload"], validate=True))
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise bad(_one_line(exc) or "unreadable JSON") from None
    if not isinstance(material, dict) or not isinstance(statement, dict):
        raise bad("unexpected structure")

    kind: SignMethod
    leaf: bytes | None = None
    if "publicKey" in material:
        kind = "key"
    elif "certificate" in material:
        kind = "sigstore"
        leaf = _der(material["certificate"])
    elif "x509CertificateChain" in material:
        kind = "sigstore" if material.get("tlogEntries") else "certificate"
        certificates = (material["x509CertificateChain"] or {}).get("certificates") or [{}]
        leaf = _der(certificates[0])
    else:
        raise bad("no public key or certificate in its verification material")
    hint = (material.get("publicKey") or {}).get("hint") if kind == "key" else None

    try:
        subjects = statement["subject"]
        predicate = statement.get("predicate") or {}
        serialization = predicate.get("serialization") or {"method": "files", "hash_type": "sha256"}
        if "resources" in predicate:
            resources = {r["name"]: f"{r['algorithm']}:{r['digest']}" for r in predicate["resources"]}
        else:  # the pre-1.0 payload listed files as subjects
            resources = {s["name"]: f"sha256:{s['digest']['sha256']}" for s in subjects}
        root = str(subjects[0]["digest"].get("sha256", "")) if subjects else ""
        method = str(serialization.get("method", "files"))
        shard = serialization.get("shard_size")
        signed_ignores = tuple(str(p) for p in serialization.get("ignore_paths", ()))
        hash_type = str(serialization.get("hash_type", "sha256"))
    except (KeyError, TypeError, AttributeError, IndexError) as exc:
        raise bad(f"payload lacks {_one_line(exc)}") from None
    if method not in {"files", "shards"}:
        raise bad(f"unknown serialization method {method!r}")
    return _SignedManifest(
        kind=kind, resources=resources, method=method, hash_type=hash_type,
        shard_size=int(shard) if shard is not None else None, signed_ignores=signed_ignores, root_digest=root,
        key_hint=str(hint) if hint else None, leaf_certificate=leaf,
    )


def _der(entry: Any) -> bytes | None:
    try:
        return base64.b64decode(entry["rawBytes"])
    except (KeyError, TypeError, ValueError, binascii.Error):
        return None
