"""Signing and verification of model folders and files, offline: keys and a CA are generated in code."""

from __future__ import annotations

import base64
import datetime as dt
import json
import socket
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("model_signing")
pytest.importorskip("OpenSSL")

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from clearsight.controls.integrity import signing
from clearsight.controls.integrity.signing import (
    SigningUnavailableError,
    SigstoreUnavailableError,
    sign_model,
    sign_model_sigstore,
    sign_model_with_certificate,
    verify_model,
)
from clearsight.core.errors import ClearsightError, InputError

# ------------------------------------------------------------------------------------------ key material


def _write_key(path: Path, key: Any, password: bytes | None = None) -> Path:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    )
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption))
    return path


def _write_public(path: Path, key: Any) -> Path:
    path.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return path


class KeyPair:
    def __init__(self, folder: Path, name: str, password: bytes | None = None) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.private = _write_key(folder / f"{name}.pem", self.key, password)
        self.public = _write_public(folder / f"{name}.pub", self.key)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject: str, key: Any, issuer: str, issuer_key: Any, *, ca: bool) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
    )
    if not ca:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


class Pki:
    """A self-signed CA and a leaf signing certificate issued by it."""

    def __init__(self, folder: Path, name: str) -> None:
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = _certificate(f"{name} Root CA", self.ca_key, f"{name} Root CA", self.ca_key, ca=True)
        self.ca = folder / f"{name}-ca.crt"
        self.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        self.leaf_key = ec.generate_private_key(ec.SECP256R1())
        leaf = _certificate(f"{name} model signer", self.leaf_key, f"{name} Root CA", self.ca_key, ca=False)
        self.leaf = folder / f"{name}-leaf.crt"
        self.leaf.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
        self.private = _write_key(folder / f"{name}-leaf.pem", self.leaf_key)


# ------------------------------------------------------------------------------------------ fixtures


@pytest.fixture
def keys(tmp_path: Path) -> KeyPair:
    (tmp_path / "keys").mkdir()
    return KeyPair(tmp_path / "keys", "signer")


@pytest.fixture
def other_keys(tmp_path: Path) -> KeyPair:
    (tmp_path / "keys").mkdir(exist_ok=True)
    return KeyPair(tmp_path / "keys", "intruder")


@pytest.fixture
def model(tmp_path: Path) -> Path:
    root = tmp_path / "fraud-model"
    (root / "weights").mkdir(parents=True)
    (root / "tokenizer").mkdir()
    (root / ".git").mkdir()
    (root / "config.json").write_text('{"hidden_size": 8}\n')
    (root / "README.md").write_text("# fraud model\n")
    (root / "weights" / "model.safetensors").write_bytes(bytes(range(256)) * 64)
    (root / "tokenizer" / "vocab.txt").write_text("a\nb\nc\n")
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    return root


# ------------------------------------------------------------------------------------------ key mode


def test_sign_and_verify_folder_with_key(model: Path, keys: KeyPair) -> None:
    signed = sign_model(model, private_key=keys.private)
    assert Path(signed.signature) == model / "model.sig"
    assert signed.method == "key"
    assert signed.files == 4  # .git is ignored by default, model.sig is never hashed
    assert len(signed.digest) == 64

    result = verify_model(model, public_key=keys.public)
    assert result.ok, result.problems
    assert result.files == 4
    assert result.signer is not None and result.signer.startswith("key sha256:")
    assert result.summary().startswith("verified:")


def test_changed_byte_names_the_file(model: Path, keys: KeyPair) -> None:
    sign_model(model, private_key=keys.private)
    weights = model / "weights" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[1000] ^= 0x01
    weights.write_bytes(bytes(data))

    result = verify_model(model, public_key=keys.public)
    assert not result.ok
    assert result.changed == ["weights/model.safetensors"]
    assert result.missing == [] and result.extra == []
    assert any("weights/model.safetensors" in p and "changed" in p for p in result.problems)


def test_missing_file_is_named(model: Path, keys: KeyPair) -> None:
    sign_model(model, private_key=keys.private)
    (model / "tokenizer" / "vocab.txt").unlink()
    result = verify_model(model, public_key=keys.public)
    assert not result.ok
    assert result.missing == ["tokenizer/vocab.txt"]
    assert "missing: tokenizer/vocab.txt" in result.summary()


def test_extra_file_is_named(model: Path, keys: KeyPair) -> None:
    sign_model(model, private_key=keys.private)
    (model / "weights" / "backdoor.pkl").write_bytes(b"\x80\x04N.")
    result = verify_model(model, public_key=keys.public)
    assert not result.ok
    assert result.extra == ["weights/backdoor.pkl"]
    assert any(p.startswith("extra: weights/backdoor.pkl") for p in result.problems)


def test_several_differences_reported_together(model: Path, keys: KeyPair) -> None:
    sign_model(model, private_key=keys.private)
    (model / "config.json").write_text('{"hidden_size": 9}\n')
    (model / "README.md").unlink()
    (model / "new.bin").write_bytes(b"x")
    result = verify_model(model, public_key=keys.public)
    assert (result.changed, result.missing, result.extra) == (["config.json"], ["README.md"], ["new.bin"])
    assert len(result.problems) == 3


def test_wrong_key_is_reported(model: Path, keys: KeyPair, other_keys: KeyPair) -> None:
    sign_model(model, private_key=keys.private)
    result = verify_model(model, public_key=other_keys.public)
    assert not result.ok
    assert result.problems and "wrong key" in result.problems[0]
    assert "intruder.pub" in result.problems[0]
    assert result.signer is None


def test_altered_signature_payload_fails(model: Path, keys: KeyPair) -> None:
    signed = sign_model(model, private_key=keys.private)
    sig = Path(signed.signature)
    bundle = json.loads(sig.read_text())
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    statement["predicate"]["resources"] = statement["predicate"]["resources"][:-1]
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    sig.write_text(json.dumps(bundle))
    result = verify_model(model, public_key=keys.public)
    assert not result.ok
    assert "signature does not verify" in result.problems[0]


def test_git_folder_changes_are_ignored_by_default(model: Path, keys: KeyPair) -> None:
    sign_model(model, private_key=keys.private)
    (model / ".git" / "HEAD").write_text("ref: refs/heads/other\n")
    (model / ".git" / "index").write_bytes(b"new")
    assert verify_model(model, public_key=keys.public).ok


def test_git_folder_signed_when_asked(model: Path, keys: KeyPair) -> None:
    signed = sign_model(model, private_key=keys.private, ignore_git_paths=False)
    assert signed.files == 5
    (model / ".git" / "HEAD").write_text("ref: refs/heads/other\n")
    result = verify_model(model, public_key=keys.public, ignore_git_paths=False)
    assert result.changed == [".git/HEAD"]


def test_ignore_paths_are_respected(model: Path, keys: KeyPair) -> None:
    signed = sign_model(model, private_key=keys.private, ignore_paths=["README.md"])
    assert signed.files == 3
    (model / "README.md").write_text("edited card\n")
    assert verify_model(model, public_key=keys.public).ok  # the signature records what it left out


def test_ignore_path_outside_model_is_rejected(model: Path, keys: KeyPair) -> None:
    with pytest.raises(InputError, match="outside the model folder"):
        sign_model(model, private_key=keys.private, ignore_paths=["../elsewhere"])


def test_signature_outside_the_folder(model: Path, keys: KeyPair, tmp_path: Path) -> None:
    sig = tmp_path / "release" / "fraud-model.sig"
    sig.parent.mkdir()
    signed = sign_model(model, private_key=keys.private, signature=sig)
    assert Path(signed.signature) == sig and not (model / "model.sig").exists()
    assert verify_model(model, public_key=keys.public, signature=sig).ok


def test_blake3_signature_is_verified_with_its_own_hashing(model: Path, keys: KeyPair) -> None:
    signed = sign_model(model, private_key=keys.private, hash_algorithm="blake3")
    assert signed.hash_algorithm == "blake3"
    assert verify_model(model, public_key=keys.public).ok
    (model / "config.json").write_text("{}\n")
    assert verify_model(model, public_key=keys.public).changed == ["config.json"]


def test_encrypted_private_key(model: Path, tmp_path: Path) -> None:
    pair = KeyPair(tmp_path, "locked", password=b"s3cret")
    sign_model(model, private_key=pair.private, password=b"s3cret")
    assert verify_model(model, public_key=pair.public).ok
    with pytest.raises(InputError, match="private key"):
        sign_model(model, private_key=pair.private, password=b"wrong")
    with pytest.raises(InputError) as missing:
        sign_model(model, private_key=pair.private)
    assert "password" in missing.value.diagnostic()


# ------------------------------------------------------------------------------------------ single file


def test_single_file_model(tmp_path: Path, keys: KeyPair) -> None:
    weights = tmp_path / "model.onnx"
    weights.write_bytes(b"\x08\x07" + bytes(4096))
    signed = sign_model(weights, private_key=keys.private)
    assert Path(signed.signature) == tmp_path / "model.onnx.sig"
    assert signed.files == 1
    assert verify_model(weights, public_key=keys.public).ok

    weights.write_bytes(b"\x08\x07" + bytes(4095) + b"\x01")
    result = verify_model(weights, public_key=keys.public)
    assert not result.ok
    assert result.changed == ["model.onnx"]
    assert "changed: model.onnx" in result.summary()


# ------------------------------------------------------------------------------------------ certificate mode


def test_certificate_sign_and_verify(model: Path, tmp_path: Path) -> None:
    pki = Pki(tmp_path, "Acme")
    signed = sign_model_with_certificate(model, private_key=pki.private, signing_certificate=pki.leaf)
    assert signed.method == "certificate"
    assert "Acme model signer" in signed.signer

    result = verify_model(model, certificate_chain=[pki.ca])
    assert result.ok, result.problems
    assert result.signer is not None and "Acme model signer" in result.signer

    (model / "config.json").write_text("{}\n")
    tampered = verify_model(model, certificate_chain=[pki.ca])
    assert tampered.changed == ["config.json"]


def test_certificate_from_another_ca_is_not_trusted(model: Path, tmp_path: Path) -> None:
    acme, rogue = Pki(tmp_path, "Acme"), Pki(tmp_path, "Rogue")
    sign_model_with_certificate(model, private_key=rogue.private, signing_certificate=rogue.leaf)
    result = verify_model(model, certificate_chain=[acme.ca])
    assert not result.ok
    assert "not trusted" in result.problems[0]


def test_certificate_must_match_private_key(model: Path, tmp_path: Path, keys: KeyPair) -> None:
    pki = Pki(tmp_path, "Acme")
    with pytest.raises(InputError, match="does not belong to the private key"):
        sign_model_with_certificate(model, private_key=keys.private, signing_certificate=pki.leaf)


def test_key_signature_checked_in_certificate_mode_fails(model: Path, keys: KeyPair, tmp_path: Path) -> None:
    sign_model(model, private_key=keys.private)
    result = verify_model(model, certificate_chain=[Pki(tmp_path, "Acme").ca])
    assert not result.ok
    assert "made with a private key" in result.problems[0]


# ------------------------------------------------------------------------------------------ bad input


def test_missing_model(tmp_path: Path, keys: KeyPair) -> None:
    with pytest.raises(InputError, match="model not found"):
        sign_model(tmp_path / "nope", private_key=keys.private)


def test_missing_and_garbage_signature(model: Path, keys: KeyPair) -> None:
    with pytest.raises(InputError, match="signature not found"):
        verify_model(model, public_key=keys.public)
    (model / "model.sig").write_text("not json")
    with pytest.raises(InputError, match="not a model-signing signature"):
        verify_model(model, public_key=keys.public)


def test_unreadable_and_wrong_format_keys(model: Path, tmp_path: Path, keys: KeyPair) -> None:
    with pytest.raises(InputError, match="private key not found"):
        sign_model(model, private_key=tmp_path / "absent.pem")
    rsa_key = _write_key(tmp_path / "rsa.pem", rsa.generate_private_key(public_exponent=65537, key_size=2048))
    with pytest.raises(InputError, match="EC key"):
        sign_model(model, private_key=rsa_key)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("hello")
    with pytest.raises(InputError, match="cannot load the private key"):
        sign_model(model, private_key=garbage)
    sign_model(model, private_key=keys.private)
    with pytest.raises(InputError, match="cannot load the public key"):
        verify_model(model, public_key=keys.private)


def test_exactly_one_verification_method(model: Path, keys: KeyPair) -> None:
    with pytest.raises(InputError, match="exactly one"):
        verify_model(model)
    with pytest.raises(InputError, match="exactly one"):
        verify_model(model, public_key=keys.public, certificate_chain=[])
    with pytest.raises(InputError, match="identity and an OIDC issuer"):
        verify_model(model, identity="me@example.com")


def test_symlink_is_refused_unless_allowed(model: Path, keys: KeyPair, tmp_path: Path) -> None:
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"payload")
    (model / "link.bin").symlink_to(outside)
    with pytest.raises(InputError, match="symlink"):
        sign_model(model, private_key=keys.private)
    sign_model(model, private_key=keys.private, allow_symlinks=True)
    assert verify_model(model, public_key=keys.public, allow_symlinks=True).ok
    refused = verify_model(model, public_key=keys.public)
    assert not refused.ok and "symlink" in refused.problems[0]


def test_missing_extra_names_the_install_command(monkeypatch: pytest.MonkeyPatch, model: Path, keys: KeyPair) -> None:
    monkeypatch.setitem(sys.modules, "OpenSSL.crypto", None)
    assert not signing.signing_available()
    with pytest.raises(SigningUnavailableError) as error:
        sign_model(model, private_key=keys.private)
    assert "pip install 'clearsight[signing]'" in error.value.diagnostic()
    assert "\n" not in error.value.diagnostic()


# ------------------------------------------------------------------------------------------ sigstore offline


def _no_network(*args: object, **kwargs: object) -> None:
    raise OSError("network disabled by the test")


def test_sigstore_offline_fails_with_one_line(monkeypatch: pytest.MonkeyPatch, model: Path, tmp_path: Path) -> None:
    monkeypatch.setattr(socket.socket, "connect", _no_network)
    monkeypatch.setattr(socket, "create_connection", _no_network)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(SigstoreUnavailableError) as error:
        sign_model_sigstore(model, identity_token="header.payload.signature")
    message = error.value.diagnostic()
    assert "network" in message and "\n" not in message
    assert not (model / "model.sig").exists()


def test_sigstore_without_identity_is_an_input_error(monkeypatch: pytest.MonkeyPatch, model: Path) -> None:
    monkeypatch.delenv("SIGSTORE_IDENTITY_TOKEN", raising=False)
    monkeypatch.setattr(signing, "_ambient_token", lambda client_id: None)
    with pytest.raises(InputError, match="OIDC identity"):
        sign_model_sigstore(model)


def test_all_errors_are_clearsight_errors(model: Path, keys: KeyPair) -> None:
    (model / "model.sig").write_text(json.dumps({"verificationMaterial": {}, "dsseEnvelope": {"payload": "e30="}}))
    with pytest.raises(ClearsightError):
        verify_model(model, public_key=keys.public)
